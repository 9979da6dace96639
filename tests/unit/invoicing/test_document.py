"""What a document prints: its vocabulary, its paid copy, and which taxes it shows."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from invoicing.domain.document import Document, DocumentKind, DocumentStatus, PaymentDetails, paid_copy, tax_columns
from tests.support.invoice_documents import KARNATAKA_BUYER, MAHARASHTRA_BUYER, tax_invoice


def test_the_kinds_and_statuses_are_the_words_the_database_and_the_api_use() -> None:
    assert [str(kind) for kind in DocumentKind] == ["invoice", "receipt"]
    assert [str(status) for status in DocumentStatus] == ["due", "paid"]


def test_a_paid_copy_is_stamped_paid_with_its_payment_and_otherwise_prints_the_same() -> None:
    due = tax_invoice(KARNATAKA_BUYER, paid=False)
    payment = PaymentDetails(method="credits", reference="led-9", paid_on=date(2026, 11, 29))

    paid = paid_copy(due, payment)

    assert paid.status is DocumentStatus.PAID and paid.payment == payment
    assert paid.model_dump(exclude={"status", "payment"}) == due.model_dump(exclude={"status", "payment"})
    assert due.status is DocumentStatus.DUE and due.payment is None  # the due copy is left as it was


def test_the_stored_json_keeps_the_plain_words() -> None:
    text = tax_invoice(KARNATAKA_BUYER).model_dump_json()
    assert '"kind":"invoice"' in text and '"status":"paid"' in text
    assert Document.model_validate_json(text).kind is DocumentKind.INVOICE


def test_an_intra_state_document_shows_cgst_and_sgst_and_an_inter_state_one_igst() -> None:
    assert tax_columns(tax_invoice(KARNATAKA_BUYER)) == ["CGST", "SGST"]
    assert tax_columns(tax_invoice(MAHARASHTRA_BUYER)) == ["IGST"]


def test_a_document_mixing_both_shows_all_three_taxes() -> None:
    inter = tax_invoice(MAHARASHTRA_BUYER)
    mixed = inter.model_copy(update={"totals": inter.totals.model_copy(update={"cgst": Decimal("1.00")})})
    assert tax_columns(mixed) == ["CGST", "SGST", "IGST"]


def test_an_untaxed_document_shows_cgst_and_sgst_at_zero() -> None:
    untaxed = tax_invoice(KARNATAKA_BUYER, items=[("Advance", 1, "100.00")])
    zero = untaxed.totals.model_copy(update={"cgst": Decimal("0"), "sgst": Decimal("0"), "igst": Decimal("0")})
    lines = [
        line.model_copy(update={"cgst_rate": Decimal("0"), "sgst_rate": Decimal("0"), "igst_rate": Decimal("0")})
        for line in untaxed.lines
    ]
    assert tax_columns(untaxed.model_copy(update={"totals": zero, "lines": lines})) == ["CGST", "SGST"]
