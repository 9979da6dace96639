"""billing's events, a batch at a time: the documents they issue or turn paid, written in a few statements.

Each event says what it asks of its document (`issue_invoice_for_order`,
`issue_receipt_for_payment`); the batch is then planned in memory against the
documents that exist (`domain/issuing.py`: the same outcome as applying the
events one by one) and written: every source locked in one statement, their
documents read in one, the due ones paid in one, the numbers taken per series
(last, so a series' row is held only for the end of the batch), the new
documents inserted in one, and the events recorded in one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from invoicing.adapters import document_store as store
from invoicing.domain.document import IssuedDocument
from invoicing.domain.issuing import Announcement, DocumentRequest, plan_documents
from invoicing.domain.numbering import number_documents, numbers_needed
from invoicing.settings import InvoicingSettings
from tollgate_shared.batch_handler import event_span
from tollgate_shared.bus import PoisonMessage
from tollgate_shared.events import Envelope
from tollgate_shared.events.models import InvoiceIssued, InvoicePaid
from tollgate_shared.metrics.catalogue import INVOICES_ISSUED
from tollgate_shared.metrics.counting import count_after_commit
from tollgate_shared.outbox import current_traceparent, event_of, record_events

Asks = Callable[[Envelope, InvoicingSettings], DocumentRequest]
"""What a billing event asks of its document (`PoisonMessage` when it is not what its type promises)."""


async def issue_documents(
    db: AsyncSession, events: list[Envelope], *, asks: Mapping[str, Asks], settings: InvoicingSettings
) -> None:
    """Issue, or turn paid, the documents `events` (fresh, in delivery order) are about, each once."""
    requests, traceparents = [], {}
    for event in events:
        with event_span(event):
            requests.append(asks[event.type](event, settings))
            traceparents[event.id] = current_traceparent()  # the events it causes continue its trace
    keys = list(dict.fromkeys(request.key for request in requests))
    await store.lock_sources(db, keys)
    plan = plan_documents(requests, await store.documents_for(db, keys))
    await store.mark_paid(db, plan.turned_paid, paid_at=plan.paid_at)
    last_numbers = await store.take_numbers(db, numbers_needed(plan.issued))
    numbered = number_documents(plan.issued, last_numbers, settings)
    await store.insert_documents(db, numbered, paid_at=plan.paid_at)
    documents = {issued.id: issued for issued in plan.turned_paid} | {n.document.id: n.document for n in numbered}
    announced = [_announcement(db, documents[a.document_id], a) for a in plan.announcements]
    await record_events(db, announced, traceparents=[traceparents[a.event_id] for a in plan.announcements])
    for kind, count in Counter(issued.kind for issued in plan.issued).items():
        count_after_commit(db, INVOICES_ISSUED.labels("invoicing", kind), count)


def _announcement(db: AsyncSession, document: IssuedDocument, announcement: Announcement) -> Envelope:
    data: InvoiceIssued | InvoicePaid
    if announcement.issued_with is None:
        data = InvoicePaid(invoice_id=document.id, number=document.number, order_id=document.order_id)
    else:
        data = InvoiceIssued(
            invoice_id=document.id,
            number=document.number,
            kind=document.kind,
            order_id=document.order_id,
            total=document.total,
            status=announcement.issued_with,
        )
    return event_of(db, data, account_id=document.account_id)


def account_of(event: Envelope) -> str:
    """The account a billing event is about."""
    if not event.account_id:
        # No retry will add an account: park it for an operator.
        raise PoisonMessage(f"{event.type} {event.id} names no account")
    return event.account_id
