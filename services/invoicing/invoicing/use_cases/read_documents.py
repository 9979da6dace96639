"""An account's documents: a page of them (filtered, newest first), or one with everything it prints."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from invoicing.adapters import document_store as store
from invoicing.domain.document import DocumentEntry, DocumentFilter, IssuedDocument
from tollgate_shared.errors import NotFound
from tollgate_shared.pagination import PageParams


@dataclass(frozen=True)
class DocumentPage:
    entries: list[DocumentEntry]
    total: int  # in all the pages


async def list_documents(
    db: AsyncSession, *, account_id: str, shown: DocumentFilter, paging: PageParams
) -> DocumentPage:
    entries, total = await store.page_of_documents(db, account_id, shown, paging)
    return DocumentPage(entries, total)


async def get_document(db: AsyncSession, *, account_id: str, document_id: str) -> IssuedDocument:
    """The account's document (another account's is not found)."""
    found = await store.owned_document(db, account_id, document_id)
    if found is None:
        raise NotFound("No such document.")
    return found
