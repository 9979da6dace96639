"""Documents composed from billing's events and the seller's settings (no I/O).

Billing's events carry everything a document prints — priced lines, tax split,
a snapshot of the buyer — so invoicing never asks billing anything.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from invoicing.domain.document import Document, Line, Party, PaymentDetails, Totals
from invoicing.domain.words import amount_in_words
from invoicing.settings import InvoicingSettings
from tollgate_shared.events.models import BuyerSnapshot, OrderLine, OrderPlaced
from tollgate_shared.gst_states import state_code

ZERO = Decimal("0.00")
# A top-up is an advance for the platform's certificate services.
ADVANCE_SAC = "998319"
ADVANCE_NOTE = (
    "Receipt voucher for an advance (prepaid credits). GST is charged on the tax invoice "
    "of each order these credits pay for."
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
        kind="invoice",
        title="Tax Invoice",
        number=number,
        issued_on=issued_on,
        status="paid" if payment is not None else "due",
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
    *,
    amount: Decimal,
    currency: str,
    buyer: BuyerSnapshot | None,
    account_id: str,
    number: str,
    issued_on: date,
    payment: PaymentDetails,
    settings: InvoicingSettings,
) -> Document:
    party = buyer_party(buyer, account_id=account_id, settings=settings)
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
        kind="receipt",
        title="Receipt Voucher",
        number=number,
        issued_on=issued_on,
        status="paid",
        currency=currency,
        seller=seller_of(settings),
        buyer=party,
        place_of_supply=f"{party.state} ({party.state_code})" if party.state_code else party.state,
        order_id=None,
        lines=[line],
        totals=Totals(taxable_value=amount, cgst=ZERO, sgst=ZERO, igst=ZERO, total=amount),
        total_in_words=amount_in_words(amount, currency),
        payment=payment,
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
