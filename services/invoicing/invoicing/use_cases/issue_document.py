"""Issuing a document once for what it is for, with the next number of its series (each reaction's step)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from invoicing.adapters import document_store as store
from invoicing.domain.document import Document, DocumentKind, DocumentStatus, IssuedDocument
from invoicing.domain.numbering import document_number, financial_year, series_prefix
from invoicing.settings import InvoicingSettings
from invoicing.use_cases.mark_invoice_paid import record_invoice_paid
from tollgate_shared.bus import PoisonMessage
from tollgate_shared.events import Envelope
from tollgate_shared.events.models import InvoiceIssued
from tollgate_shared.metrics.catalogue import INVOICES_ISSUED
from tollgate_shared.metrics.counting import count_after_commit
from tollgate_shared.outbox import record_event


async def issue_document(
    db: AsyncSession,
    *,
    account_id: str,
    kind: DocumentKind,
    source: str,
    order_id: str | None,
    issued_on: date,
    compose: Callable[[str], Document],
    settings: InvoicingSettings,
) -> IssuedDocument:
    """The document for (account, kind, source): the existing one, or a new one composed with the next number."""
    await store.lock_source(db, account_id, kind, source)
    existing = await store.document_for(db, account_id, kind, source)
    if existing is not None:
        return existing
    year = financial_year(issued_on)
    sequence = await store.next_in_series(db, kind, year)
    content = compose(document_number(series_prefix(kind, settings), year, sequence))
    issued = IssuedDocument(
        id=str(uuid.uuid4()),
        kind=kind,
        number=content.number,
        order_id=order_id,
        issued_on=issued_on,
        total=content.totals.total,
        currency=content.currency,
        status=content.status,
        account_id=account_id,
        source=source,
        content=content,
    )
    await store.insert_document(db, issued, financial_year=year, sequence=sequence)
    announced = InvoiceIssued(
        invoice_id=issued.id,
        number=issued.number,
        kind=kind,
        order_id=order_id,
        total=issued.total,
        status=issued.status,
    )
    await record_event(db, announced, account_id=account_id)
    count_after_commit(db, INVOICES_ISSUED.labels("invoicing", kind))
    if kind is DocumentKind.INVOICE and issued.status is DocumentStatus.PAID:
        await record_invoice_paid(db, issued)
    return issued


def account_of(event: Envelope) -> str:
    """The account a billing event is about."""
    if not event.account_id:
        # No retry will add an account: park it for an operator.
        raise PoisonMessage(f"{event.type} {event.id} names no account")
    return event.account_id
