"""Invoice documents for tests and the invoicing benchmark: one seller, an intra-state and an
inter-state buyer, four certificate lines priced with GST by billing's own pricing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from billing.domain.gst import Rates, price_line
from invoicing.domain.document import Document, Line, Party, PaymentDetails, Totals
from invoicing.domain.words import amount_in_words

PAISA = Decimal("0.01")
SELLER = Party(
    name="Tollgate Certificates Private Limited",
    address="12 Residency Road\nBengaluru 560025",
    state="Karnataka",
    state_code="29",
    gstin="29AAACT1234A1ZX",
)
KARNATAKA_BUYER = Party(
    name="Bangalore Widgets & Sons <LLP>",
    address="4th Floor, 80 Feet Road, Koramangala, Bengaluru 560034",
    state="Karnataka",
    state_code="29",
    gstin="29AAGCB7383J1Z4",
)
MAHARASHTRA_BUYER = Party(
    name="Pune Foundry LLP",
    address="Plot 7, MIDC Bhosari, Pune 411026",
    state="Maharashtra",
    state_code="27",
    gstin="27AAPFU0939F1ZV",
)
ITEMS = [
    ("OV SSL certificate, 1 year: shop.example.in", 1, "12500.00"),
    ("Wildcard SSL certificate, 1 year: *.example.in", 2, "38999.50"),
    ("Code signing certificate, 3 years", 1, "31457.78"),
    ("Certificate reissue fee", 3, "0.33"),
]


RATES = Rates(cgst=Decimal("9"), sgst=Decimal("9"), igst=Decimal("18"))


def priced(description: str, quantity: int, unit_price: str, *, intra_state: bool) -> Line:
    """A line as billing prices it (`price_line`), with the rates it applied, as invoices print them."""
    line = price_line(description, "998314", quantity, Decimal(unit_price), intra_state=intra_state, rates=RATES)
    zero = Decimal("0")
    return Line(
        description=line.description,
        sac=line.sac,
        quantity=line.quantity,
        unit_price=line.unit_price,
        taxable_value=line.taxable_value,
        cgst_rate=RATES.cgst if intra_state else zero,
        cgst=line.cgst,
        sgst_rate=RATES.sgst if intra_state else zero,
        sgst=line.sgst,
        igst_rate=zero if intra_state else RATES.igst,
        igst=line.igst,
        total=line.total,
    )


def tax_invoice(buyer: Party, *, paid: bool = True, items: list[tuple[str, int, str]] = ITEMS) -> Document:
    intra_state = buyer.state_code == SELLER.state_code
    lines = [priced(*item, intra_state=intra_state) for item in items]
    totals = Totals(
        taxable_value=sum((line.taxable_value for line in lines), Decimal("0.00")),
        cgst=sum((line.cgst for line in lines), Decimal("0.00")),
        sgst=sum((line.sgst for line in lines), Decimal("0.00")),
        igst=sum((line.igst for line in lines), Decimal("0.00")),
        total=sum((line.total for line in lines), Decimal("0.00")),
    )
    payment = PaymentDetails(
        method="online", reference="pi_3QxYz12345abcdef", paid_on=date(2026, 11, 28), provider="stripe"
    )
    return Document(
        kind="invoice",
        title="Tax Invoice",
        number="TGI/26-27/000042",
        issued_on=date(2026, 11, 27),
        status="paid" if paid else "due",
        currency="INR",
        seller=SELLER,
        buyer=buyer,
        place_of_supply=f"{buyer.state} ({buyer.state_code})",
        order_id="ord-7f3a9c",
        lines=lines,
        totals=totals,
        total_in_words=amount_in_words(totals.total),
        payment=payment if paid else None,
    )


def receipt_voucher() -> Document:
    amount = Decimal("250000.00")
    zero = Decimal("0")
    line = Line(
        description="Advance for certificate services (prepaid credits)",
        sac="998319",
        quantity=1,
        unit_price=amount,
        taxable_value=amount,
        cgst_rate=zero,
        cgst=PAISA * 0,
        sgst_rate=zero,
        sgst=PAISA * 0,
        igst_rate=zero,
        igst=PAISA * 0,
        total=amount,
    )
    return Document(
        kind="receipt",
        title="Receipt Voucher",
        number="TGR/26-27/000007",
        issued_on=date(2026, 11, 28),
        status="paid",
        currency="INR",
        seller=SELLER,
        buyer=Party(name="Chennai Hosting Co", address="", state="Tamil Nadu", state_code="33"),
        place_of_supply="Tamil Nadu (33)",
        order_id=None,
        lines=[line],
        totals=Totals(taxable_value=amount, cgst=PAISA * 0, sgst=PAISA * 0, igst=PAISA * 0, total=amount),
        total_in_words=amount_in_words(amount),
        payment=PaymentDetails(
            method="neft", reference="UTR SBIN526332187654", paid_on=date(2026, 11, 26), bank="State Bank of India"
        ),
        notes=["Receipt voucher for an advance (prepaid credits). GST is charged on the tax invoice of each order."],
    )
