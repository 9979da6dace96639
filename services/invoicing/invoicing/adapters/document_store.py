"""Documents and their numbering series in the database: the statements behind named functions.

A number comes from its series' row (`UPDATE … RETURNING` under the row lock)
in the same transaction as the document and the inbox record, so a rollback
leaves no gap and concurrent consumers or replicas queue on the series. Two
deliveries issuing the same document (an order's `placed` and `paid` arriving
together, or a redelivery) queue on a lock of that (account, kind, source):
the second finds the first's document and changes it instead of colliding on
`one_document_per_source` and being retried.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, Select, bindparam, select, text, update
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
from tollgate_shared.money import from_minor, to_minor
from tollgate_shared.pagination import PageParams, fetch_page

_c = document.c
_ENTRY = (_c.id, _c.kind, _c.number, _c.order_id, _c.issued_on, _c.total_minor, _c.currency, _c.status)
_ISSUED = (*_ENTRY, _c.account_id, _c.source, _c.content)
_NEWEST_FIRST = (_c.issued_on.desc(), _c.created_at.desc(), _c.id)
# A row lock cannot cover a document nobody has inserted yet; a transaction advisory lock can. Two
# unrelated sources sharing a 64-bit hash only queue behind each other.
_SOURCE_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")
# The statements of every invoice and receipt, built once with bound parameters: SQLAlchemy then keys its
# compiled cache on one object instead of building and keying a new statement per document, which cost
# invoicing more CPU than running them (bench/README.md, orders end to end).
_DOCUMENT_FOR = (
    select(*_ISSUED)
    .where(_c.account_id == bindparam("p_account"), _c.kind == bindparam("p_kind"), _c.source == bindparam("p_source"))
    .with_for_update()
)
# One statement takes the next number, creating the series at 1: `postgresql.insert(...).on_conflict_do_*`
# is never cached by SQLAlchemy (it compiled again for every document), so it is text, valid on both
# databases (SQLite 3.35+), with the table's types on its parameters.
_NEXT_IN_SERIES = (
    text(
        "INSERT INTO document_series (kind, financial_year, last_number) VALUES (:kind, :year, 1) "
        "ON CONFLICT (kind, financial_year) DO UPDATE SET last_number = document_series.last_number + 1 "
        "RETURNING last_number"
    )
    .bindparams(
        bindparam("kind", type_=document_series.c.kind.type),
        bindparam("year", type_=document_series.c.financial_year.type),
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


async def lock_source(db: AsyncSession, account_id: str, kind: DocumentKind, source: str) -> None:
    """Hold (account, kind, source) until this transaction ends, whether its document exists yet or not.

    SQLite has one writer at a time: nothing to take.
    """
    if db.bind.dialect.name == "postgresql":
        await db.execute(_SOURCE_LOCK, {"key": f"invoicing.document:{account_id}:{kind}:{source}"})


async def document_for(db: AsyncSession, account_id: str, kind: DocumentKind, source: str) -> IssuedDocument | None:
    """The document issued for (account, kind, source), locked until this transaction ends."""
    params = {"p_account": account_id, "p_kind": str(kind), "p_source": source}
    row = (await db.execute(_DOCUMENT_FOR, params)).first()
    return None if row is None else _issued(row)


async def next_in_series(db: AsyncSession, kind: DocumentKind, year: str) -> int:
    """The next number of the series, allocated under its row lock until this transaction ends."""
    sequence = await db.scalar(_NEXT_IN_SERIES, {"kind": str(kind), "year": year})
    assert sequence is not None
    return int(sequence)


async def insert_document(db: AsyncSession, issued: IssuedDocument, *, financial_year: str, sequence: int) -> None:
    """Keep a newly numbered document; one issued paid is paid from now."""
    now = datetime.now(UTC)
    await db.execute(
        _INSERT_DOCUMENT,
        {
            "id": issued.id,
            "account_id": issued.account_id,
            "kind": str(issued.kind),
            "number": issued.number,
            "financial_year": financial_year,
            "sequence": sequence,
            "source": issued.source,
            "order_id": issued.order_id,
            "status": str(issued.status),
            "issued_on": issued.issued_on,
            "currency": issued.currency,
            "total_minor": to_minor(issued.total),
            "content": issued.content.model_dump_json(),
            "paid_at": now if issued.status is DocumentStatus.PAID else None,
            "created_at": now,
            "updated_at": now,
        },
    )


async def mark_paid(db: AsyncSession, document_id: str, content: Document, *, paid_at: datetime) -> None:
    """The document turns paid with its new content; the PDF kept of the due copy is dropped."""
    params = {
        "p_id": document_id,
        "p_status": str(DocumentStatus.PAID),
        "p_content": content.model_dump_json(),
        "p_paid_at": paid_at,
        "p_now": datetime.now(UTC),
    }
    await db.execute(_MARK_PAID, params)


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
