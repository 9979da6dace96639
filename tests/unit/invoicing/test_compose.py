"""Documents composed from billing's events and the seller's settings, without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from invoicing.domain.compose import advance_received, buyer_party, invoice, order_payment, receipt
from invoicing.domain.document import DocumentKind, DocumentStatus
from invoicing.settings import InvoicingSettings
from tollgate_shared.events.models import (
    BuyerSnapshot,
    OfflinePaymentApproved,
    OrderLine,
    OrderPaid,
    OrderPlaced,
    PaymentSucceeded,
    TaxSplit,
)

SETTINGS = InvoicingSettings(env="development")
ACCOUNT = "11111111-1111-4111-8111-111111111111"
BUYER = BuyerSnapshot(legal_name="Pune Foundry LLP", address="Plot 7, MIDC Bhosari", state="Maharashtra")
# 23:00 on 31 March in Kolkata is 17:30 UTC; 00:30 on 1 April is 19:00 UTC the day before.
LATE_ON_31_MARCH = datetime(2027, 3, 31, 17, 30, tzinfo=UTC)
EARLY_ON_1_APRIL = datetime(2027, 3, 31, 19, 0, tzinfo=UTC)


def order_line(**rates: Decimal) -> OrderLine:
    return OrderLine(
        description="DV SSL",
        sac="998319",
        quantity=1,
        unit_price=Decimal("100.00"),
        taxable_value=Decimal("100.00"),
        cgst=Decimal("0.00"),
        sgst=Decimal("0.00"),
        igst=Decimal("18.00"),
        total=Decimal("118.00"),
        **rates,
    )


def placed(**rates: Decimal) -> dict[str, object]:
    return {
        "order_id": "ORD-1",
        "status": "awaiting_payment",
        "currency": "INR",
        "lines": [order_line(**rates)],
        "subtotal": Decimal("100.00"),
        "tax": TaxSplit(cgst=Decimal("0.00"), sgst=Decimal("0.00"), igst=Decimal("18.00")),
        "total": Decimal("118.00"),
        "buyer": BUYER,
        "place_of_supply": "Maharashtra",
    }


def test_a_placed_order_gives_a_due_tax_invoice_for_its_buyer_and_place_of_supply() -> None:
    order = OrderPlaced.model_validate(placed(igst_rate=Decimal("18")))
    document = invoice(
        order,
        account_id=ACCOUNT,
        number="TGI/26-27/000001",
        issued_on=date(2026, 11, 28),
        payment=None,
        settings=SETTINGS,
    )

    assert document.kind is DocumentKind.INVOICE and document.title == "Tax Invoice"
    assert document.status is DocumentStatus.DUE and document.payment is None
    assert document.buyer.name == "Pune Foundry LLP" and document.buyer.state_code == "27"
    assert document.seller.name == SETTINGS.seller_name and document.seller.state_code == "29"
    assert document.place_of_supply == "Maharashtra (27)"
    assert document.totals.total == Decimal("118.00") and document.totals.igst == Decimal("18.00")
    assert document.total_in_words == "Rupees One Hundred Eighteen Only"
    assert document.lines[0].igst_rate == Decimal("18")


def test_a_line_of_an_older_event_gets_the_rate_its_amounts_show() -> None:
    document = invoice(
        OrderPlaced.model_validate(placed()),
        account_id=ACCOUNT,
        number="TGI/26-27/000001",
        issued_on=date(2026, 11, 28),
        payment=None,
        settings=SETTINGS,
    )

    line = document.lines[0]
    assert line.igst_rate == Decimal("18.00") and line.cgst_rate == 0 and line.sgst_rate == 0


def test_an_order_paid_from_credits_or_online_is_printed_with_how_and_when_it_was_paid() -> None:
    paid = OrderPaid.model_validate(
        {**placed(), "method": "credits", "paid_at": LATE_ON_31_MARCH, "payment_reference": "led-1"}
    )
    payment = order_payment(paid, SETTINGS)
    assert (payment.method, payment.reference, payment.paid_on) == ("credits", "led-1", date(2027, 3, 31))
    online = OrderPaid.model_validate(
        {**placed(), "method": "online", "paid_at": EARLY_ON_1_APRIL, "payment_reference": "pi_1"}
    )
    assert order_payment(online, SETTINGS).method == "online (card)"
    assert order_payment(online, SETTINGS).paid_on == date(2027, 4, 1)

    document = invoice(
        paid,
        account_id=ACCOUNT,
        number="TGI/26-27/000002",
        issued_on=date(2027, 3, 31),
        payment=payment,
        settings=SETTINGS,
    )
    assert document.status is DocumentStatus.PAID and document.payment == payment


def test_an_online_top_up_is_an_advance_paid_by_card_through_its_provider() -> None:
    paid = PaymentSucceeded(
        payment_id="pay-1",
        amount=Decimal("5000.00"),
        currency="INR",
        provider="stripe",
        provider_reference="pi_123",
        paid_at=LATE_ON_31_MARCH,
        buyer=BUYER,
    )
    advance = advance_received(paid, SETTINGS)

    assert (advance.source, advance.amount, advance.currency, advance.buyer) == (
        "pay-1",
        Decimal("5000.00"),
        "INR",
        BUYER,
    )
    assert advance.payment.method == "online (card)" and advance.payment.provider == "stripe"
    assert advance.payment.reference == "pi_123" and advance.payment.paid_on == date(2027, 3, 31)


def test_an_approved_transfer_is_an_advance_named_by_its_mode_and_a_cheque_stays_a_cheque() -> None:
    def approved(mode: str) -> OfflinePaymentApproved:
        return OfflinePaymentApproved(
            offline_payment_id="off-1",
            amount=Decimal("250000.00"),
            currency="INR",
            mode=mode,
            reference="UTR123",
            paid_on=date(2026, 11, 27),
            bank="HDFC Bank",
            approved_by="finance@example.in",
        )

    advance = advance_received(approved("neft"), SETTINGS)
    assert advance.source == "off-1" and advance.buyer is None
    assert (advance.payment.method, advance.payment.bank) == ("NEFT", "HDFC Bank")
    assert advance.payment.paid_on == date(2026, 11, 27)
    assert advance_received(approved("cheque"), SETTINGS).payment.method == "cheque"


def test_a_receipt_voucher_is_paid_untaxed_and_says_the_tax_is_on_each_orders_invoice() -> None:
    paid = PaymentSucceeded(
        payment_id="pay-1",
        amount=Decimal("5000.00"),
        currency="INR",
        provider="stripe",
        provider_reference="pi_123",
        paid_at=LATE_ON_31_MARCH,
    )
    document = receipt(
        advance_received(paid, SETTINGS),
        account_id=ACCOUNT,
        number="TGR/26-27/000001",
        issued_on=date(2027, 3, 31),
        settings=SETTINGS,
    )

    assert document.kind is DocumentKind.RECEIPT and document.title == "Receipt Voucher"
    assert document.status is DocumentStatus.PAID and document.order_id is None
    assert document.totals.total == Decimal("5000.00") and document.totals.cgst == document.totals.igst == 0
    assert [line.sac for line in document.lines] == ["998319"]
    assert "GST is charged on the tax invoice" in document.notes[0]
    assert document.place_of_supply == "Karnataka (29)"  # no snapshot: the account, in the seller's state


def test_a_buyer_without_a_snapshot_is_named_by_the_account_in_the_sellers_state() -> None:
    party = buyer_party(None, account_id=ACCOUNT, settings=SETTINGS)
    assert party.name == f"Account {ACCOUNT}" and party.state == "Karnataka" and party.state_code == "29"
    assert party.gstin is None and party.address == ""


def test_a_buyer_in_an_unknown_state_keeps_the_name_without_a_code() -> None:
    snapshot = BuyerSnapshot(legal_name="Overseas Ltd", address="1 Main St", state="Nowhere", gstin=None)
    party = buyer_party(snapshot, account_id=ACCOUNT, settings=SETTINGS)
    assert (party.name, party.state, party.state_code) == ("Overseas Ltd", "Nowhere", "")
