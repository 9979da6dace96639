"""Documents composed from billing's events and the seller's settings (no I/O).

Billing's events carry everything a document prints — priced lines, tax split,
a snapshot of the buyer — so invoicing never asks billing anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from invoicing.domain.document import Document, DocumentKind, DocumentStatus, Line, Party, PaymentDetails, Totals
from invoicing.domain.numbering import local_date
from invoicing.domain.words import amount_in_words
from invoicing.settings import InvoicingSettings
from tollgate_shared.events.models import (
    BuyerSnapshot,
    OfflinePaymentApproved,
    OrderLine,
    OrderPaid,
    OrderPlaced,
    PaymentSucceeded,
)
from tollgate_shared.gst_states import state_code

ZERO = Decimal("0.00")
# A top-up is an advance for the platform's certificate services.
ADVANCE_SAC = "998319"
ADVANCE_NOTE = (
    "Receipt voucher for an advance (prepaid credits). GST is charged on the tax invoice "
    "of each order these credits pay for."
)


@dataclass(frozen=True, kw_only=True)
class Advance:
    """Money received ahead of orders (a top-up): what a receipt voucher is issued for."""

    source: str  # the online or offline payment's id: one receipt each
    amount: Decimal
    currency: str
    buyer: BuyerSnapshot | None
    payment: PaymentDetails


def order_payment(order: OrderPaid, settings: InvoicingSettings) -> PaymentDetails:
    """How an order was paid: from the account's credits, or online by card."""
    return PaymentDetails(
        method="credits" if order.method == "credits" else "online (card)",
        reference=order.payment_reference,
        paid_on=local_date(order.paid_at, settings),
    )


def advance_received(received: PaymentSucceeded | OfflinePaymentApproved, settings: InvoicingSettings) -> Advance:
    """The advance an online top-up or an approved bank transfer or cheque (for the amount credited) is."""
    if isinstance(received, PaymentSucceeded):
        online = PaymentDetails(
            method="online (card)",
            reference=received.provider_reference,
            paid_on=local_date(received.paid_at, settings),
            provider=received.provider,
        )
        return Advance(
            source=received.payment_id,
            amount=received.amount,
            currency=received.currency,
            buyer=received.buyer,
            payment=online,
        )
    offline = PaymentDetails(
        method=received.mode.upper() if received.mode != "cheque" else "cheque",
        reference=received.reference,
        paid_on=received.paid_on,
        bank=received.bank,
    )
    return Advance(
        source=received.offline_payment_id,
        amount=received.amount,
        currency=received.currency,
        buyer=received.buyer,
        payment=offline,
    )


def seller_of(settings: InvoicingSettings) -> Party:
    return Party(
        name=settings.seller_name,
        address=settings.seller_address,
        state=settings.seller_state,
        state_code=state_code(settings.seller_state),
        gstin=settings.seller_gstin,
    )


def buyer_party(buyer: BuyerSnapshot | None, *, account_id: str, settings: InvoicingSettings) -> Party:
    """The buyer as billing recorded them; without a snapshot, the account within the seller's state."""
    if buyer is None:
        return Party(
            name=f"Account {account_id}",
            address="",
            state=settings.seller_state,
            state_code=state_code(settings.seller_state),
        )
    try:
        code = state_code(buyer.state)
    except ValueError:
        code = ""
    return Party(name=buyer.legal_name, address=buyer.address, state=buyer.state, state_code=code, gstin=buyer.gstin)


def invoice(
    order: OrderPlaced,
    *,
    account_id: str,
    number: str,
    issued_on: date,
    payment: PaymentDetails | None,
    settings: InvoicingSettings,
) -> Document:
    lines = [_line(line) for line in order.lines]
    try:
        supply = f"{order.place_of_supply} ({state_code(order.place_of_supply)})"
    except ValueError:
        supply = order.place_of_supply
    return Document(
        kind=DocumentKind.INVOICE,
        title="Tax Invoice",
        number=number,
        issued_on=issued_on,
        status=DocumentStatus.PAID if payment is not None else DocumentStatus.DUE,
        currency=order.currency,
        seller=seller_of(settings),
        buyer=buyer_party(order.buyer, account_id=account_id, settings=settings),
        place_of_supply=supply,
        order_id=order.order_id,
        lines=lines,
        totals=Totals(
            taxable_value=order.subtotal,
            cgst=order.tax.cgst,
            sgst=order.tax.sgst,
            igst=order.tax.igst,
            total=order.total,
        ),
        total_in_words=amount_in_words(order.total, order.currency),
        payment=payment,
    )


def receipt(
    advance: Advance, *, account_id: str, number: str, issued_on: date, settings: InvoicingSettings
) -> Document:
    amount, currency = advance.amount, advance.currency
    party = buyer_party(advance.buyer, account_id=account_id, settings=settings)
    line = Line(
        description="Advance for certificate services (prepaid credits)",
        sac=ADVANCE_SAC,
        quantity=1,
        unit_price=amount,
        taxable_value=amount,
        cgst_rate=Decimal("0"),
        cgst=ZERO,
        sgst_rate=Decimal("0"),
        sgst=ZERO,
        igst_rate=Decimal("0"),
        igst=ZERO,
        total=amount,
    )
    return Document(
        kind=DocumentKind.RECEIPT,
        title="Receipt Voucher",
        number=number,
        issued_on=issued_on,
        status=DocumentStatus.PAID,
        currency=currency,
        seller=seller_of(settings),
        buyer=party,
        place_of_supply=f"{party.state} ({party.state_code})" if party.state_code else party.state,
        order_id=None,
        lines=[line],
        totals=Totals(taxable_value=amount, cgst=ZERO, sgst=ZERO, igst=ZERO, total=amount),
        total_in_words=amount_in_words(amount, currency),
        payment=advance.payment,
        notes=[ADVANCE_NOTE],
    )


def _line(line: OrderLine) -> Line:
    return Line(
        description=line.description,
        sac=line.sac,
        quantity=line.quantity,
        unit_price=line.unit_price,
        taxable_value=line.taxable_value,
        cgst_rate=_rate(line.cgst_rate, line.cgst, line.taxable_value),
        cgst=line.cgst,
        sgst_rate=_rate(line.sgst_rate, line.sgst, line.taxable_value),
        sgst=line.sgst,
        igst_rate=_rate(line.igst_rate, line.igst, line.taxable_value),
        igst=line.igst,
        total=line.total,
    )


def _rate(given: Decimal | None, tax: Decimal, taxable: Decimal) -> Decimal:
    """The rate billing applied; for older events without it, the nearest rate its amounts show."""
    if given is not None:
        return given
    if not taxable or not tax:
        return Decimal("0")
    return (tax * 100 / taxable).quantize(Decimal("0.01"))
