"""billing.order.placed and billing.order.paid: one tax invoice per order, due until the order is paid."""

from __future__ import annotations

from invoicing.domain import compose
from invoicing.domain.document import DocumentKind
from invoicing.domain.issuing import DocumentRequest
from invoicing.domain.numbering import local_date
from invoicing.settings import InvoicingSettings
from invoicing.use_cases.issue_documents import account_of
from tollgate_shared.batch_handler import event_data
from tollgate_shared.bus import PoisonMessage
from tollgate_shared.events import Envelope
from tollgate_shared.events.models import OrderPaid, OrderPlaced


def invoice_for_order(event: Envelope, settings: InvoicingSettings) -> DocumentRequest:
    """The order's invoice: issued due when it is placed, turned paid when it is paid.

    If `paid` arrives first the invoice is issued already paid, dated by that
    event; the late `placed` then finds it and changes nothing.
    """
    order = event_data(event)
    if not isinstance(order, OrderPlaced):  # OrderPaid is an OrderPlaced with how it was paid
        raise PoisonMessage(f"{event.type} {event.id} is not about an order")
    account_id = account_of(event)
    issued_on = local_date(event.occurred_at, settings)
    paid = order if isinstance(order, OrderPaid) else None
    payment = None if paid is None else compose.order_payment(paid, settings)
    return DocumentRequest(
        event_id=event.id,
        account_id=account_id,
        kind=DocumentKind.INVOICE,
        source=order.order_id,
        order_id=order.order_id,
        issued_on=issued_on,
        compose=lambda number: compose.invoice(
            order, account_id=account_id, number=number, issued_on=issued_on, payment=payment, settings=settings
        ),
        payment=payment,
        paid_at=None if paid is None else paid.paid_at,
    )
