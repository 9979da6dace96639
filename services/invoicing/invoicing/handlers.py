"""What invoicing does when billing's events arrive (routing as data)."""

from functools import partial

from invoicing.documents import on_offline_approved, on_order_paid, on_order_placed, on_payment_succeeded
from invoicing.settings import InvoicingSettings
from tollgate_shared.service import Consumers


def event_handlers(settings: InvoicingSettings) -> Consumers:
    """Queue → event type → handler: an invoice per order, a receipt per top-up."""
    return {
        "invoicing.billing-events": {
            "billing.order.placed": partial(on_order_placed, settings=settings),
            "billing.order.paid": partial(on_order_paid, settings=settings),
            "billing.payment.succeeded": partial(on_payment_succeeded, settings=settings),
            "billing.offline_payment.approved": partial(on_offline_approved, settings=settings),
        }
    }
