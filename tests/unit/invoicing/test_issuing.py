"""A batch of billing's events planned against the documents that exist, and numbered, without a database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from invoicing.domain import compose
from invoicing.domain.document import DocumentKind, DocumentStatus, IssuedDocument, paid_copy
from invoicing.domain.issuing import UNNUMBERED, Announcement, DocumentRequest, plan_documents
from invoicing.domain.numbering import Series, number_documents, numbers_needed
from invoicing.settings import InvoicingSettings
from invoicing.use_cases.issue_invoice_for_order import invoice_for_order
from invoicing.use_cases.issue_receipt_for_payment import receipt_for_payment
from tests.support.invoicing import order_event, top_up_event
from tollgate_shared.events import Envelope
from tollgate_shared.events.models import OrderPaid, OrderPlaced

SETTINGS = InvoicingSettings(env="development")
ACCOUNT = "11111111-1111-4111-8111-111111111111"
IN_MARCH = datetime(2027, 3, 31, 12, 0, tzinfo=UTC)
IN_APRIL = datetime(2027, 4, 1, 12, 0, tzinfo=UTC)


def request(event: Envelope) -> DocumentRequest:
    asks = invoice_for_order if event.type.startswith("billing.order.") else receipt_for_payment
    return asks(event, SETTINGS)


def test_placed_then_paid_is_one_document_written_paid_and_announced_issued_due_then_paid() -> None:
    placed, paid = order_event("ORD-1", ACCOUNT, at=IN_MARCH), order_event("ORD-1", ACCOUNT, paid=True, at=IN_APRIL)

    plan = plan_documents([request(placed), request(paid)], existing={})

    (invoice,) = plan.issued
    order, paying = OrderPlaced.model_validate(placed.data), OrderPaid.model_validate(paid.data)
    due = compose.invoice(
        order, account_id=ACCOUNT, number=UNNUMBERED, issued_on=IN_MARCH.date(), payment=None, settings=SETTINGS
    )
    assert invoice.content == paid_copy(due, compose.order_payment(paying, SETTINGS))
    assert invoice.status is DocumentStatus.PAID and plan.paid_at == {invoice.id: paying.paid_at}
    assert plan.announcements == [
        Announcement(invoice.id, placed.id, issued_with=DocumentStatus.DUE),
        Announcement(invoice.id, paid.id),
    ]
    assert plan.turned_paid == []


def test_paid_first_issues_the_invoice_paid_and_the_late_placed_changes_nothing() -> None:
    paid, placed = order_event("ORD-1", ACCOUNT, paid=True, at=IN_APRIL), order_event("ORD-1", ACCOUNT, at=IN_MARCH)

    plan = plan_documents([request(paid), request(placed)], existing={})

    (invoice,) = plan.issued
    assert invoice.status is DocumentStatus.PAID and invoice.issued_on == IN_APRIL.date()
    assert plan.paid_at == {}  # paid from its issuing: the time it is written
    assert plan.announcements == [
        Announcement(invoice.id, paid.id, issued_with=DocumentStatus.PAID),
        Announcement(invoice.id, paid.id),
    ]


def test_an_existing_due_invoice_turns_paid_once_and_an_existing_document_is_never_issued_again() -> None:
    placed = request(order_event("ORD-1", ACCOUNT, at=IN_MARCH))
    due = _kept(plan_documents([placed], existing={}).issued[0], "TGI/26-27/000007")
    top_up = request(top_up_event("pay-1", ACCOUNT, at=IN_MARCH))
    receipt = _kept(plan_documents([top_up], existing={}).issued[0], "TGR/26-27/000003")
    first_paid = order_event("ORD-1", ACCOUNT, paid=True, at=IN_APRIL)
    again = [request(first_paid), request(order_event("ORD-1", ACCOUNT, paid=True)), placed, top_up]

    plan = plan_documents(again, existing={placed.key: due, top_up.key: receipt})

    assert plan.issued == []
    (turned,) = plan.turned_paid
    assert (turned.id, turned.number, turned.status) == (due.id, due.number, DocumentStatus.PAID)
    assert turned.content.number == due.number and turned.content.payment is not None
    assert plan.paid_at == {due.id: OrderPaid.model_validate(first_paid.data).paid_at}
    assert plan.announcements == [Announcement(due.id, first_paid.id)]


def test_new_documents_are_numbered_per_series_in_the_order_they_were_issued() -> None:
    events = [
        order_event("ORD-1", ACCOUNT, at=IN_MARCH),
        top_up_event("pay-1", ACCOUNT, at=IN_MARCH),
        order_event("ORD-2", ACCOUNT, at=IN_APRIL),
        order_event("ORD-3", ACCOUNT, at=IN_MARCH),
        top_up_event("pay-2", ACCOUNT, at=IN_MARCH),
    ]
    plan = plan_documents([request(event) for event in events], existing={})
    invoices_26, receipts_26 = Series(DocumentKind.INVOICE, "26-27"), Series(DocumentKind.RECEIPT, "26-27")
    invoices_27 = Series(DocumentKind.INVOICE, "27-28")
    assert numbers_needed(plan.issued) == {invoices_26: 2, receipts_26: 2, invoices_27: 1}

    numbered = number_documents(plan.issued, {invoices_26: 12, receipts_26: 2, invoices_27: 1}, SETTINGS)

    assert [(n.document.source, n.document.number, n.sequence) for n in numbered] == [
        ("ORD-1", "TGI/26-27/000011", 11),
        ("pay-1", "TGR/26-27/000001", 1),
        ("ORD-2", "TGI/27-28/000001", 1),
        ("ORD-3", "TGI/26-27/000012", 12),
        ("pay-2", "TGR/26-27/000002", 2),
    ]
    assert all(n.document.content.number == n.document.number for n in numbered)


def _kept(document: IssuedDocument, number: str) -> IssuedDocument:
    """`document` as an earlier batch kept it, numbered."""
    return replace(document, number=number, content=document.content.model_copy(update={"number": number}))
