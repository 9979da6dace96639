"""Documents and their numbering series in the database: the statements behind named functions.

A batch of billing's events is written in a handful of statements, whatever its
size (`use_cases/issue_documents.py`): its sources locked, their documents read,
the numbers taken, the new documents inserted, the paid ones updated. Numbers
come from their series' row (`INSERT … ON CONFLICT DO UPDATE … RETURNING`) in
the same transaction as the documents and the inbox record, so a rollback
leaves no gap and concurrent consumers or replicas queue on the series. Two
deliveries issuing the same document (an order's `placed` and `paid` in two
batches, or a redelivery) queue on a lock of that (account, kind, source): the
second finds the first's document and changes it instead of colliding on
`one_document_per_source` and being retried.

The statements are built once with bound parameters and run on the driver
(`tollgate_shared.direct_sql`): building, compiling and running them through
SQLAlchemy's session cost invoicing more CPU than PostgreSQL spent on them
(bench/README.md, orders end to end).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Row, Select, TextualSelect, bindparam, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from invoicing.adapters.tables import document, document_series
from invoicing.domain.document import (
    Document,
    DocumentEntry,
    DocumentFilter,
    DocumentKind,
    DocumentStatus,
    IssuedDocument,
)
from invoicing.domain.issuing import SourceKey
from invoicing.domain.numbering import NumberedDocument, Series
from tollgate_shared import direct_sql
from tollgate_shared.money import from_minor, to_minor
from tollgate_shared.pagination import PageParams, fetch_page

_c = document.c
_ENTRY = (_c.id, _c.kind, _c.number, _c.order_id, _c.issued_on, _c.total_minor, _c.currency, _c.status)
_ISSUED = (*_ENTRY, _c.account_id, _c.source, _c.content)
_NEWEST_FIRST = (_c.issued_on.desc(), _c.created_at.desc(), _c.id)
# A row lock cannot cover a document nobody has inserted yet; a transaction advisory lock can. Two unrelated
# sources sharing a 64-bit hash only queue behind each other. One statement takes a batch's locks in the
# order of its keys (unnest keeps the array's order), and every batch sorts them: two never wait for each
# other in a circle.
_LOCK_SOURCES = text("SELECT pg_advisory_xact_lock(hashtextextended(key, 0)) FROM unnest(CAST(:keys AS TEXT[])) AS key")
# The documents of a batch's sources, locked until the transaction ends (on SQLite, one writer at a time:
# nothing to lock), the sources as one parameter whatever their number.
_DOCUMENTS_FOR = {
    "postgresql": (
        "WHERE (account_id, kind, source) IN (SELECT * FROM unnest("
        "CAST(:accounts AS VARCHAR[]), CAST(:kinds AS VARCHAR[]), CAST(:sources AS VARCHAR[]))) FOR UPDATE"
    ),
    "sqlite": (
        "WHERE (account_id, kind, source) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), "
        "json_extract(value, '$[2]') FROM json_each(:keys))"
    ),
}
# A series' next `count` numbers, creating the series at 1: the row stays locked until the transaction ends,
# so a batch takes it last. Text (SQLAlchemy never caches `postgresql.insert().on_conflict_do_*`), valid on
# both databases (SQLite 3.35+), with the table's types on its parameters.
_TAKE_NUMBERS = (
    text(
        "INSERT INTO document_series (kind, financial_year, last_number) VALUES (:kind, :year, :count) "
        "ON CONFLICT (kind, financial_year) DO UPDATE "
        "SET last_number = document_series.last_number + excluded.last_number "
        "RETURNING last_number"
    )
    .bindparams(
        bindparam("kind", type_=document_series.c.kind.type),
        bindparam("year", type_=document_series.c.financial_year.type),
        bindparam("count", type_=document_series.c.last_number.type),
    )
    .columns(document_series.c.last_number)
)
_INSERT_DOCUMENT = document.insert()
_MARK_PAID = (
    update(document)
    .where(_c.id == bindparam("p_id"))
    .values(
        status=bindparam("p_status"),
        content=bindparam("p_content"),
        paid_at=bindparam("p_paid_at"),
        pdf=None,
        pdf_etag=None,
        updated_at=bindparam("p_now"),
    )
)


@dataclass(frozen=True)
class PdfSource:
    """What a PDF is rendered from, and the ETag (the content's hash) of the copy kept, if any."""

    number: str
    content: str  # the document's JSON as stored: its hash is the ETag
    kept_etag: str | None

    @property
    def etag(self) -> str:
        return hashlib.sha256(self.content.encode()).hexdigest()

    def document(self) -> Document:
        return Document.model_validate_json(self.content)


def _entry(row: Row[Any]) -> DocumentEntry:
    return DocumentEntry(
        id=row.id,
        kind=DocumentKind(row.kind),
        number=row.number,
        order_id=row.order_id,
        issued_on=row.issued_on,
        total=from_minor(row.total_minor),
        currency=row.currency,
        status=DocumentStatus(row.status),
    )


def _issued(row: Row[Any]) -> IssuedDocument:
    return IssuedDocument(
        **asdict(_entry(row)),
        account_id=row.account_id,
        source=row.source,
        content=Document.model_validate_json(row.content),
    )


async def lock_sources(db: AsyncSession, keys: Iterable[SourceKey]) -> None:
    """Hold every (account, kind, source) of `keys` until this transaction ends, whether its document exists
    yet or not. SQLite has one writer at a time: nothing to take."""
    if db.bind.dialect.name != "postgresql":
        return
    # The key of one document's lock since the first version: replicas of two versions still exclude each other.
    locks = sorted({f"invoicing.document:{key.account_id}:{key.kind}:{key.source}" for key in keys})
    if locks:
        await direct_sql.execute_many(db, _LOCK_SOURCES, [{"keys": locks}])


async def documents_for(db: AsyncSession, keys: Collection[SourceKey]) -> dict[SourceKey, IssuedDocument]:
    """The documents issued for `keys` (those that exist), locked until this transaction ends."""
    if not keys:
        return {}
    dialect = db.bind.dialect.name
    params: dict[str, Any]
    if dialect == "postgresql":
        params = {
            "accounts": [key.account_id for key in keys],
            "kinds": [str(key.kind) for key in keys],
            "sources": [key.source for key in keys],
        }
    else:
        params = {"keys": json.dumps([[key.account_id, str(key.kind), key.source] for key in keys])}
    rows = await direct_sql.fetch(db, _documents_for_statement(dialect), params)
    found = (_issued(row) for row in rows)
    return {SourceKey(issued.account_id, issued.kind, issued.source): issued for issued in found}


@lru_cache(maxsize=4)
def _documents_for_statement(dialect: str) -> TextualSelect:
    columns = ", ".join(column.name for column in _ISSUED)
    statement = f"SELECT {columns} FROM document {_DOCUMENTS_FOR[dialect]}"  # noqa: S608 (no input in it)
    return text(statement).columns(*_ISSUED)


async def take_numbers(db: AsyncSession, needed: Mapping[Series, int]) -> dict[Series, int]:
    """Take `needed` numbers of each series: the last number each gives (those before it are the batch's),
    its row locked until this transaction ends."""
    last: dict[Series, int] = {}
    for series in sorted(needed):  # in one order, so two batches never lock two series the other way round
        params = {"kind": str(series.kind), "year": series.financial_year, "count": needed[series]}
        (row,) = await direct_sql.fetch(db, _TAKE_NUMBERS, params)
        last[series] = int(row.last_number)
    return last


async def insert_documents(
    db: AsyncSession, documents: Sequence[NumberedDocument], *, paid_at: Mapping[str, datetime]
) -> None:
    """Keep newly numbered documents; one issued paid is paid from now, unless `paid_at` says when."""
    now = datetime.now(UTC)
    rows = []
    for numbered in documents:
        issued = numbered.document
        paid = issued.status is DocumentStatus.PAID
        rows.append(
            {
                "id": issued.id,
                "account_id": issued.account_id,
                "kind": str(issued.kind),
                "number": issued.number,
                "financial_year": numbered.series.financial_year,
                "sequence": numbered.sequence,
                "source": issued.source,
                "order_id": issued.order_id,
                "status": str(issued.status),
                "issued_on": issued.issued_on,
                "currency": issued.currency,
                "total_minor": to_minor(issued.total),
                "content": issued.content.model_dump_json(),
                "paid_at": paid_at.get(issued.id, now) if paid else None,
                "created_at": now,
                "updated_at": now,
            }
        )
    await direct_sql.execute_many(db, _INSERT_DOCUMENT, rows)


async def mark_paid(db: AsyncSession, documents: Sequence[IssuedDocument], *, paid_at: Mapping[str, datetime]) -> None:
    """Existing documents turn paid (at `paid_at` of each) with their new content; the PDFs kept of their due
    copies are dropped."""
    now = datetime.now(UTC)
    params = [
        {
            "p_id": paid.id,
            "p_status": str(paid.status),
            "p_content": paid.content.model_dump_json(),
            "p_paid_at": paid_at[paid.id],
            "p_now": now,
        }
        for paid in documents
    ]
    await direct_sql.execute_many(db, _MARK_PAID, params)


async def page_of_documents(
    db: AsyncSession, account_id: str, shown: DocumentFilter, paging: PageParams
) -> tuple[list[DocumentEntry], int]:
    """One page of the account's documents, newest first, and how many there are in all."""
    query = _filtered(select(*_ENTRY, _c.created_at).where(_c.account_id == account_id), shown)
    rows, total = await fetch_page(db, query, order_by=_NEWEST_FIRST, paging=paging)
    return [_entry(row) for row in rows], total


def _filtered(query: Select[Any], shown: DocumentFilter) -> Select[Any]:
    for column, value in ((_c.status, shown.status), (_c.kind, shown.kind), (_c.order_id, shown.order_id)):
        if value is not None:
            query = query.where(column == value)
    if shown.issued_from is not None:
        query = query.where(_c.issued_on >= shown.issued_from)
    if shown.issued_to is not None:
        query = query.where(_c.issued_on <= shown.issued_to)
    return query


async def owned_document(db: AsyncSession, account_id: str, document_id: str) -> IssuedDocument | None:
    """The account's document; None for another account's."""
    query = select(*_ISSUED).where(_c.id == document_id, _c.account_id == account_id)
    row = (await db.execute(query)).first()
    return None if row is None else _issued(row)


async def pdf_source(db: AsyncSession, account_id: str, document_id: str) -> PdfSource | None:
    """What the account's document's PDF is rendered from; None for another account's."""
    query = select(_c.number, _c.content, _c.pdf_etag).where(_c.id == document_id, _c.account_id == account_id)
    row = (await db.execute(query)).first()
    return None if row is None else PdfSource(row.number, row.content, row.pdf_etag)


async def kept_pdf(db: AsyncSession, document_id: str) -> bytes | None:
    return await db.scalar(select(_c.pdf).where(_c.id == document_id))


async def keep_pdf(db: AsyncSession, document_id: str, source: PdfSource, pdf: bytes) -> None:
    """Keep the PDF only if the document did not change meanwhile (a payment re-issues its content)."""
    await db.execute(
        update(document).where(_c.id == document_id, _c.content == source.content).values(pdf=pdf, pdf_etag=source.etag)
    )
