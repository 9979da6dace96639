"""What invoicing does when billing's events arrive (routing as data)."""

from functools import partial

from invoicing.settings import InvoicingSettings
from invoicing.use_cases.issue_documents import Asks, issue_documents
from invoicing.use_cases.issue_invoice_for_order import invoice_for_order
from invoicing.use_cases.issue_receipt_for_payment import receipt_for_payment
from tollgate_shared.batch_handler import BatchHandler
from tollgate_shared.service import Consumers

ASKS: dict[str, Asks] = {
    "billing.order.placed": invoice_for_order,
    "billing.order.paid": invoice_for_order,
    "billing.payment.succeeded": receipt_for_payment,
    "billing.offline_payment.approved": receipt_for_payment,
}
"""Event type → the document it asks for: an invoice per order, a receipt per top-up."""


def event_handlers(settings: InvoicingSettings) -> Consumers:
    """Queue → a batch's events, whose documents are written together."""
    issue = partial(issue_documents, asks=ASKS, settings=settings)
    return {"invoicing.billing-events": BatchHandler(tuple(ASKS), issue)}
