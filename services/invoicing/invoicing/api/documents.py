"""Invoices and receipts: list (filtered, newest first), view, and download as PDF."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import select, update

from invoicing.adapters.tables import document
from invoicing.domain.document import Document
from invoicing.pdf import render_pdf
from tollgate_shared.auth_upstream import AccountUserDep
from tollgate_shared.errors import InvalidField, NotFound
from tollgate_shared.fields import CalendarDate
from tollgate_shared.money import Money, from_minor
from tollgate_shared.openapi import optional_header
from tollgate_shared.pagination import Page, PageDep, fetch_page
from tollgate_shared.service import RuntimeDep, SessionDep

router = APIRouter(prefix="/api/invoices", tags=["invoices"])


class DocumentSummary(BaseModel):
    id: str
    number: str
    kind: Literal["invoice", "receipt"]
    order_id: str | None
    issued_at: date
    total: Money
    currency: str
    status: Literal["due", "paid"]


class DocumentRead(DocumentSummary):
    document: Document


def summary(row: Any) -> DocumentSummary:
    return DocumentSummary(
        id=row.id,
        number=row.number,
        kind=row.kind,
        order_id=row.order_id,
        issued_at=row.issued_on,
        total=from_minor(row.total_minor),
        currency=row.currency,
        status=row.status,
    )


@router.get("")
async def list_documents(
    caller: AccountUserDep,
    db: SessionDep,
    paging: PageDep,
    status: Annotated[Literal["due", "paid"] | None, Query()] = None,
    kind: Annotated[Literal["invoice", "receipt"] | None, Query()] = None,
    order_id: Annotated[str | None, Query(max_length=100)] = None,
    issued_from: Annotated[CalendarDate | None, Query(alias="from")] = None,
    issued_to: Annotated[CalendarDate | None, Query(alias="to")] = None,
) -> Page[DocumentSummary]:
    """The account's documents, newest first; `?order_id=` finds an order's invoice."""
    if issued_from is not None and issued_to is not None and issued_from > issued_to:
        raise InvalidField("from", "must not be after `to`")
    query = select(*_summary_columns()).where(document.c.account_id == caller.account_id)
    for column, value in ((document.c.status, status), (document.c.kind, kind), (document.c.order_id, order_id)):
        if value is not None:
            query = query.where(column == value)
    if issued_from is not None:
        query = query.where(document.c.issued_on >= issued_from)
    if issued_to is not None:
        query = query.where(document.c.issued_on <= issued_to)
    order_by = [document.c.issued_on.desc(), document.c.created_at.desc(), document.c.id]
    rows, total = await fetch_page(db, query, order_by=order_by, paging=paging)
    return Page(items=[summary(r) for r in rows], total=total, page=paging.page, page_size=paging.page_size)


@router.get("/{document_id}")
async def get_document(document_id: str, caller: AccountUserDep, db: SessionDep) -> DocumentRead:
    """One document with everything it prints (another account's is a 404)."""
    row = await _owned(db, caller.account_id, document_id, *_summary_columns(), document.c.content)
    return DocumentRead(**summary(row).model_dump(), document=Document.model_validate_json(row.content))


PDF_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The document as a PDF, with its `ETag`.",
        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
    },
    304: {"description": "Unchanged since the `ETag` sent in `If-None-Match`."},
}
IF_NONE_MATCH = {
    "parameters": [
        optional_header("If-None-Match", "The `ETag` of the PDF the client has: 304 when it is still the document's.")
    ]
}


@router.get("/{document_id}/pdf", response_class=Response, responses=PDF_ANSWERS, openapi_extra=IF_NONE_MATCH)
async def download_pdf(document_id: str, caller: AccountUserDep, runtime: RuntimeDep, request: Request) -> Response:
    """The PDF, rendered once per version of the document and kept; `If-None-Match` answers 304."""
    async with runtime.session_factory() as db:
        row = await _owned(
            db, caller.account_id, document_id, document.c.number, document.c.content, document.c.pdf_etag
        )
        etag = hashlib.sha256(row.content.encode()).hexdigest()
        headers = {"ETag": f'"{etag}"'}  # Cache-Control: no-store, as every API answer (tollgate_shared.no_store)
        if request.headers.get("if-none-match") == f'"{etag}"':
            return Response(status_code=304, headers=headers)
        pdf = None
        if row.pdf_etag == etag:
            pdf = await db.scalar(select(document.c.pdf).where(document.c.id == document_id))
    if pdf is None:
        # CPU work: off the event loop, outside any transaction.
        pdf = await asyncio.to_thread(render_pdf, Document.model_validate_json(row.content))
        async with runtime.session_factory() as db, db.begin():
            # Kept only if the document did not change meanwhile (a payment re-issues its content).
            await db.execute(
                update(document)
                .where(document.c.id == document_id, document.c.content == row.content)
                .values(pdf=pdf, pdf_etag=etag)
            )
    filename = row.number.replace("/", "-") + ".pdf"
    headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return Response(pdf, media_type="application/pdf", headers=headers)


def _summary_columns() -> tuple[Any, ...]:
    c = document.c
    return (c.id, c.number, c.kind, c.order_id, c.issued_on, c.total_minor, c.currency, c.status, c.created_at)


async def _owned(db: Any, account_id: str | None, document_id: str, *columns: Any) -> Any:
    query = select(*columns).where(document.c.id == document_id, document.c.account_id == account_id)
    row = (await db.execute(query)).first()
    if row is None:
        raise NotFound("No such document.")
    return row
