"""What invoicing does when billing's events arrive (routing as data)."""

from functools import partial

from invoicing.settings import InvoicingSettings
from invoicing.use_cases.issue_invoice_for_order import issue_invoice_for_order
from invoicing.use_cases.issue_receipt_for_payment import issue_receipt_for_payment
from tollgate_shared.service import Consumers


def event_handlers(settings: InvoicingSettings) -> Consumers:
    """Queue → event type → reaction: an invoice per order, a receipt per top-up."""
    issue_invoice = partial(issue_invoice_for_order, settings=settings)
    issue_receipt = partial(issue_receipt_for_payment, settings=settings)
    return {
        "invoicing.billing-events": {
            "billing.order.placed": issue_invoice,
            "billing.order.paid": issue_invoice,
            "billing.payment.succeeded": issue_receipt,
            "billing.offline_payment.approved": issue_receipt,
        }
    }
