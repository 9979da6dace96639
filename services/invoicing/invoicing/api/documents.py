"""Invoices and receipts: list (filtered, newest first), view, and download as PDF."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from invoicing.domain.document import Document, DocumentEntry, DocumentFilter, DocumentKind, DocumentStatus
from invoicing.use_cases import read_documents
from invoicing.use_cases.render_document_pdf import render_document_pdf
from tollgate_shared.auth_upstream import AccountUserDep
from tollgate_shared.errors import InvalidField
from tollgate_shared.fields import CalendarDate
from tollgate_shared.money import Money
from tollgate_shared.openapi import optional_header
from tollgate_shared.pagination import Page, PageDep
from tollgate_shared.service import RuntimeDep, SessionDep

router = APIRouter(prefix="/api/invoices", tags=["invoices"])


class DocumentSummary(BaseModel):
    id: str
    number: str
    kind: DocumentKind
    order_id: str | None
    issued_at: date
    total: Money
    currency: str
    status: DocumentStatus


class DocumentRead(DocumentSummary):
    document: Document


def summary(entry: DocumentEntry) -> DocumentSummary:
    return DocumentSummary(
        id=entry.id,
        number=entry.number,
        kind=entry.kind,
        order_id=entry.order_id,
        issued_at=entry.issued_on,
        total=entry.total,
        currency=entry.currency,
        status=entry.status,
    )


@router.get("")
async def list_documents(
    caller: AccountUserDep,
    db: SessionDep,
    paging: PageDep,
    status: Annotated[DocumentStatus | None, Query()] = None,
    kind: Annotated[DocumentKind | None, Query()] = None,
    order_id: Annotated[str | None, Query(max_length=100)] = None,
    issued_from: Annotated[CalendarDate | None, Query(alias="from")] = None,
    issued_to: Annotated[CalendarDate | None, Query(alias="to")] = None,
) -> Page[DocumentSummary]:
    """The account's documents, newest first; `?order_id=` finds an order's invoice."""
    if issued_from is not None and issued_to is not None and issued_from > issued_to:
        raise InvalidField("from", "must not be after the To date")
    shown = DocumentFilter(status=status, kind=kind, order_id=order_id, issued_from=issued_from, issued_to=issued_to)
    found = await read_documents.list_documents(db, account_id=caller.account_id, shown=shown, paging=paging)
    items = [summary(entry) for entry in found.entries]
    return Page(items=items, total=found.total, page=paging.page, page_size=paging.page_size)


@router.get("/{document_id}")
async def get_document(document_id: str, caller: AccountUserDep, db: SessionDep) -> DocumentRead:
    """One document with everything it prints (another account's is a 404)."""
    found = await read_documents.get_document(db, account_id=caller.account_id, document_id=document_id)
    return DocumentRead(**summary(found).model_dump(), document=found.content)


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
    found = await render_document_pdf(
        runtime.session_factory,
        account_id=caller.account_id,
        document_id=document_id,
        callers_etag=_quoted_etag(request.headers.get("if-none-match")),
    )
    headers = {"ETag": f'"{found.etag}"'}  # Cache-Control: no-store, as every API answer (tollgate_shared.no_store)
    if found.pdf is None:
        return Response(status_code=304, headers=headers)
    filename = found.number.replace("/", "-") + ".pdf"
    headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return Response(found.pdf, media_type="application/pdf", headers=headers)


def _quoted_etag(if_none_match: str | None) -> str | None:
    """The ETag in `If-None-Match` when it is one strong ETag, as this service sends them."""
    if if_none_match is None or len(if_none_match) < 2 or not if_none_match.startswith('"'):
        return None
    return if_none_match[1:-1] if if_none_match.endswith('"') else None
