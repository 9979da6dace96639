"""What a batch of billing's events does to documents, decided before anything is written (no I/O).

The events are played in order against the documents that exist, as applying
them one by one would: the first event about a source issues its document (an
order's `placed`: due; its `paid` first: paid; a top-up: a receipt); an order's
`paid` turns its due invoice paid with the payment details; anything else about
a source that has its document changes nothing. What comes out is what the
batch writes: the documents to insert in the order they were issued (their
numbers follow that order), the existing ones turned paid, and the events to
publish, in order. A document issued and paid in the same batch is written
once, already paid, and still announced issued (due), then paid.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import NamedTuple

from invoicing.domain.document import Document, DocumentKind, DocumentStatus, IssuedDocument, PaymentDetails, paid_copy

UNNUMBERED = ""
"""The number of a document planned but not numbered yet (numbers are taken last: `numbering.number_documents`)."""


class SourceKey(NamedTuple):
    """What a document is for: one document per (account, kind, source)."""

    account_id: str
    kind: DocumentKind
    source: str  # an order id, an online payment id, an offline payment id


@dataclass(frozen=True, kw_only=True)
class DocumentRequest:
    """What one billing event asks of the document it is about."""

    event_id: str
    account_id: str
    kind: DocumentKind
    source: str
    order_id: str | None
    issued_on: date
    compose: Callable[[str], Document]  # the document this event would issue, given its number
    payment: PaymentDetails | None = None  # how the order was paid (billing.order.paid)
    paid_at: datetime | None = None

    @property
    def key(self) -> SourceKey:
        return SourceKey(self.account_id, self.kind, self.source)


@dataclass(frozen=True)
class Announcement:
    """An event the batch publishes about a document, for the billing event `event_id`.

    `issued_with`: `invoicing.invoice.issued` with the status the document was issued with; None:
    `invoicing.invoice.paid`.
    """

    document_id: str
    event_id: str
    issued_with: DocumentStatus | None = None


@dataclass
class DocumentPlan:
    """What a batch writes."""

    issued: list[IssuedDocument] = field(default_factory=list)  # new, as they end the batch, in issuing order
    turned_paid: list[IssuedDocument] = field(default_factory=list)  # existing ones, as they end the batch
    paid_at: dict[str, datetime] = field(default_factory=dict)  # document id → when billing says it was paid
    announcements: list[Announcement] = field(default_factory=list)


def plan_documents(requests: Iterable[DocumentRequest], existing: Mapping[SourceKey, IssuedDocument]) -> DocumentPlan:
    """What `requests`, in event order, do to the documents of their sources (`existing`: those already kept)."""
    plan = DocumentPlan()
    documents = dict(existing)
    issued: list[SourceKey] = []
    for request in requests:
        document = documents.get(request.key)
        if document is None:
            document = _issue(request)
            issued.append(request.key)
            plan.announcements.append(Announcement(document.id, request.event_id, issued_with=document.status))
            if document.kind is DocumentKind.INVOICE and document.status is DocumentStatus.PAID:
                plan.announcements.append(Announcement(document.id, request.event_id))
        elif request.payment is not None and request.paid_at is not None and document.status is DocumentStatus.DUE:
            # An invoice never goes back to due, and is paid once.
            content = paid_copy(document.content, request.payment)
            document = replace(document, status=content.status, content=content)
            plan.paid_at[document.id] = request.paid_at
            plan.announcements.append(Announcement(document.id, request.event_id))
        documents[request.key] = document
    plan.issued = [documents[key] for key in issued]
    plan.turned_paid = [documents[key] for key in existing if documents[key] is not existing[key]]
    return plan


def _issue(request: DocumentRequest) -> IssuedDocument:
    content = request.compose(UNNUMBERED)
    return IssuedDocument(
        id=str(uuid.uuid4()),
        kind=request.kind,
        number=UNNUMBERED,
        order_id=request.order_id,
        issued_on=request.issued_on,
        total=content.totals.total,
        currency=content.currency,
        status=content.status,
        account_id=request.account_id,
        source=request.source,
        content=content,
    )
