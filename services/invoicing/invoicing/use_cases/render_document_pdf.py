"""A document's PDF: rendered once per version of the document and kept until the document changes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from invoicing.adapters import document_store as store
from invoicing.adapters.pdf.render import render_pdf
from tollgate_shared.errors import NotFound


@dataclass(frozen=True)
class DocumentPdf:
    number: str
    etag: str  # the hash of the document's content: a new version, a new ETag
    pdf: bytes | None  # None: the copy the caller has (its ETag) is still the document's


async def render_document_pdf(
    sessions: async_sessionmaker[AsyncSession], *, account_id: str, document_id: str, callers_etag: str | None
) -> DocumentPdf:
    """The account's document as a PDF, the kept copy when it is current; nothing new for a current ETag."""
    async with sessions() as db:
        source = await store.pdf_source(db, account_id, document_id)
        if source is None:
            raise NotFound("No such document.")
        if callers_etag == source.etag:
            return DocumentPdf(source.number, source.etag, None)
        pdf = await store.kept_pdf(db, document_id) if source.kept_etag == source.etag else None
    if pdf is None:
        # CPU work: off the event loop, outside any transaction.
        pdf = await asyncio.to_thread(render_pdf, source.document())
        async with sessions() as db, db.begin():
            await store.keep_pdf(db, document_id, source, pdf)
    return DocumentPdf(source.number, source.etag, pdf)
