"""Invoices and receipts: their kinds and statuses, what they print, and the records kept of them.

`Document` is one as printed: everything the PDF shows, nothing it has to look
up. Built from billing's events (which carry the priced lines, the tax split and
a snapshot of the buyer) and the seller's settings; stored as JSON with the
document, so a PDF printed years later shows what was issued.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from tollgate_shared.events.vocabulary import DocumentKind as DocumentKind
from tollgate_shared.events.vocabulary import DocumentStatus as DocumentStatus
from tollgate_shared.money import Money


class _Printed(BaseModel):
    model_config = ConfigDict(frozen=True)


class Party(_Printed):
    name: str
    address: str
    state: str
    state_code: str
    gstin: str | None = None


class Line(_Printed):
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


class Totals(_Printed):
    taxable_value: Money
    cgst: Money
    sgst: Money
    igst: Money
    total: Money


class PaymentDetails(_Printed):
    """How it was paid: "a copy with all payment details"."""

    method: str  # credits, online (card), neft, rtgs, imps, cheque, wire
    reference: str  # provider reference, UTR or cheque number, ledger entry
    paid_on: date
    provider: str | None = None
    bank: str | None = None


class Document(_Printed):
    kind: DocumentKind
    title: str  # "Tax Invoice" or "Receipt Voucher"
    number: str
    issued_on: date
    status: DocumentStatus
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


@dataclass(frozen=True, kw_only=True)
class DocumentEntry:
    """A document as a list shows it."""

    id: str
    kind: DocumentKind
    number: str
    order_id: str | None
    issued_on: date
    total: Decimal
    currency: str
    status: DocumentStatus


@dataclass(frozen=True, kw_only=True)
class IssuedDocument(DocumentEntry):
    """A document as kept: whose it is, what it is for (an order, a payment) and what it prints."""

    account_id: str
    source: str  # an order id, an online payment id, an offline payment id
    content: Document


@dataclass(frozen=True, kw_only=True)
class DocumentFilter:
    """Which of an account's documents a list shows; None: any."""

    status: DocumentStatus | None = None
    kind: DocumentKind | None = None
    order_id: str | None = None
    issued_from: date | None = None
    issued_to: date | None = None


def paid_copy(invoice: Document, payment: PaymentDetails) -> Document:
    """The invoice as printed once its order is paid: stamped paid, with how it was paid."""
    return invoice.model_copy(update={"status": DocumentStatus.PAID, "payment": payment})


def tax_columns(document: Document) -> list[str]:
    """CGST and SGST within the state, IGST across; all three only for a document that mixes them."""
    lines, totals = document.lines, document.totals
    igst = totals.igst or any(line.igst_rate for line in lines)
    split = totals.cgst or totals.sgst or any(line.cgst_rate or line.sgst_rate for line in lines)
    return ["CGST", "SGST", "IGST"] if split and igst else ["IGST"] if igst else ["CGST", "SGST"]
