"""An invoice or a receipt as it is printed: everything the PDF shows, nothing it has to look up.

Built from billing's events (which carry the priced lines, the tax split and a
snapshot of the buyer) and the seller's settings; stored as JSON with the
document, so a PDF printed years later shows what was issued.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel

from tollgate_shared.money import Money

Kind = Literal["invoice", "receipt"]
Status = Literal["due", "paid"]


class Party(BaseModel):
    name: str
    address: str
    state: str
    state_code: str
    gstin: str | None = None


class Line(BaseModel):
    description: str
    sac: str
    quantity: int
    unit_price: Money
    taxable_value: Money
    cgst_rate: Decimal
    cgst: Money
    sgst_rate: Decimal
    sgst: Money
    igst_rate: Decimal
    igst: Money
    total: Money


class Totals(BaseModel):
    taxable_value: Money
    cgst: Money
    sgst: Money
    igst: Money
    total: Money


class PaymentDetails(BaseModel):
    """How it was paid: "a copy with all payment details"."""

    method: str  # credits, online (card), neft, rtgs, imps, cheque, wire
    reference: str  # provider reference, UTR or cheque number, ledger entry
    paid_on: date
    provider: str | None = None
    bank: str | None = None


class Document(BaseModel):
    kind: Kind
    title: str  # "Tax Invoice" or "Receipt Voucher"
    number: str
    issued_on: date
    status: Status
    currency: str
    seller: Party
    buyer: Party
    place_of_supply: str
    order_id: str | None
    lines: list[Line]
    totals: Totals
    total_in_words: str
    payment: PaymentDetails | None = None
    notes: list[str] = []
