"""billing.payment.succeeded and billing.offline_payment.approved: a receipt voucher for the advance."""

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
from tollgate_shared.events.models import OfflinePaymentApproved, PaymentSucceeded


def receipt_for_payment(event: Envelope, settings: InvoicingSettings) -> DocumentRequest:
    """One receipt per online top-up, and per bank transfer or cheque finance approved (the amount credited)."""
    received = event_data(event)
    if not isinstance(received, PaymentSucceeded | OfflinePaymentApproved):
        raise PoisonMessage(f"{event.type} {event.id} is not a payment received")
    account_id = account_of(event)
    advance = compose.advance_received(received, settings)
    issued_on = local_date(event.occurred_at, settings)
    return DocumentRequest(
        event_id=event.id,
        account_id=account_id,
        kind=DocumentKind.RECEIPT,
        source=advance.source,
        order_id=None,
        issued_on=issued_on,
        compose=lambda number: compose.receipt(
            advance, account_id=account_id, number=number, issued_on=issued_on, settings=settings
        ),
    )
