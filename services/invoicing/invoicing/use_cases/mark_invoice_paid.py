"""An order's due invoice turns paid with its payment details (an invoice never goes back to due)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from invoicing.adapters import document_store as store
from invoicing.domain.document import DocumentStatus, IssuedDocument, PaymentDetails, paid_copy
from tollgate_shared.events.models import InvoicePaid
from tollgate_shared.outbox import record_event


async def mark_invoice_paid(
    db: AsyncSession, invoice: IssuedDocument, payment: PaymentDetails, *, paid_at: datetime
) -> IssuedDocument:
    """The invoice printed paid from now on (its kept PDF dropped), and `invoicing.invoice.paid` published."""
    content = paid_copy(invoice.content, payment)
    await store.mark_paid(db, invoice.id, content, paid_at=paid_at)
    paid = replace(invoice, status=DocumentStatus.PAID, content=content)
    await record_invoice_paid(db, paid)
    return paid


async def record_invoice_paid(db: AsyncSession, invoice: IssuedDocument) -> None:
    paid = InvoicePaid(invoice_id=invoice.id, number=invoice.number, order_id=invoice.order_id)
    await record_event(db, paid, account_id=invoice.account_id)
