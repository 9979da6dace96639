"""billing.order.placed and billing.order.paid: one tax invoice per order, due until the order is paid."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from invoicing.domain import compose
from invoicing.domain.document import DocumentKind, DocumentStatus
from invoicing.domain.numbering import local_date
from invoicing.settings import InvoicingSettings
from invoicing.use_cases.issue_document import account_of, issue_document
from invoicing.use_cases.mark_invoice_paid import mark_invoice_paid
from tollgate_shared.bus import PoisonMessage
from tollgate_shared.events import Envelope
from tollgate_shared.events.catalogue import event_model
from tollgate_shared.events.models import OrderPaid, OrderPlaced


async def issue_invoice_for_order(db: AsyncSession, event: Envelope, *, settings: InvoicingSettings) -> None:
    """The order's invoice: issued due when it is placed, turned paid when it is paid.

    If `paid` arrives first the invoice is issued already paid, dated by that
    event; the late `placed` then finds it and changes nothing.
    """
    order = event_model(event.type).model_validate(event.data)
    if not isinstance(order, OrderPlaced):  # OrderPaid is an OrderPlaced with how it was paid
        raise PoisonMessage(f"{event.type} {event.id} is not about an order")
    account_id = account_of(event)
    issued_on = local_date(event.occurred_at, settings)
    payment = compose.order_payment(order, settings) if isinstance(order, OrderPaid) else None
    invoice = await issue_document(
        db,
        account_id=account_id,
        kind=DocumentKind.INVOICE,
        source=order.order_id,
        order_id=order.order_id,
        issued_on=issued_on,
        compose=lambda number: compose.invoice(
            order, account_id=account_id, number=number, issued_on=issued_on, payment=payment, settings=settings
        ),
        settings=settings,
    )
    if isinstance(order, OrderPaid) and payment is not None and invoice.status is DocumentStatus.DUE:
        await mark_invoice_paid(db, invoice, payment, paid_at=order.paid_at)
