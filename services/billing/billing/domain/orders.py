"""An order's rules, with no I/O: its statuses, its price (lines priced with GST, the totals, the range they
must stay in), what identifies its request, and the record of one."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from billing.domain.gst import PricedLine, Rates, price_line
from tollgate_shared.errors import Conflict, InvalidField
from tollgate_shared.events.models import OrderLine
from tollgate_shared.events.vocabulary import OrderStatus as OrderStatus
from tollgate_shared.events.vocabulary import PaymentMethod as PaymentMethod
from tollgate_shared.gst_states import state_code
from tollgate_shared.money import MAX_AMOUNT, format_money

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Item:
    description: str
    sac: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class Order:
    """An order as recorded; `lines_json` and `buyer_json` are what it was priced with, as JSON."""

    id: str
    account_id: str
    order_id: str
    request_hash: str
    status: OrderStatus
    currency: str
    lines_json: str
    subtotal_minor: int
    cgst_minor: int
    sgst_minor: int
    igst_minor: int
    total_minor: int
    buyer_json: str
    place_of_supply: str
    created_at: datetime
    paid_at: datetime | None
    payment_method: PaymentMethod | None


@dataclass(frozen=True)
class PricedOrder:
    lines: list[PricedLine]
    subtotal: Decimal
    cgst: Decimal
    sgst: Decimal
    igst: Decimal

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.cgst + self.sgst + self.igst


class OrderTooLarge(InvalidField):
    """An order whose total is more than billing keeps as one amount (and so more than any balance can pay)."""

    def __init__(self, total: Decimal) -> None:
        super().__init__(
            "items",
            f"the order's total would be {format_money(total)}, more than the largest order billing takes, "
            f"{format_money(MAX_AMOUNT)}; split it into smaller orders",
        )


class OrderConflict(Conflict):
    code, title = "order_id_conflict", "This order id was used for a different order"


def is_intra_state(place_of_supply: str, seller_state: str) -> bool:
    """CGST and SGST within the seller's state, IGST across states (DESIGN §9)."""
    return state_code(place_of_supply) == state_code(seller_state)


def price_order(items: list[Item], *, intra_state: bool, rates: Rates) -> PricedOrder:
    """Price every line (DESIGN §9: tax per line, totals are sums of lines); `OrderTooLarge` past the maximum.

    Each line is within range whenever the total is (no amount is negative), so
    one check of the total keeps every amount of the order a valid one.
    """
    lines = [
        price_line(i.description, i.sac, i.quantity, i.unit_price, intra_state=intra_state, rates=rates) for i in items
    ]
    priced = PricedOrder(
        lines=lines,
        subtotal=sum((line.taxable_value for line in lines), ZERO),
        cgst=sum((line.cgst for line in lines), ZERO),
        sgst=sum((line.sgst for line in lines), ZERO),
        igst=sum((line.igst for line in lines), ZERO),
    )
    if priced.total > MAX_AMOUNT:
        raise OrderTooLarge(priced.total)
    return priced


def order_lines(priced: PricedOrder, *, intra_state: bool, rates: Rates) -> list[OrderLine]:
    """The priced lines as the order and its events carry them, with the rates applied (so a document printed
    later shows them exactly)."""
    cgst_rate = rates.cgst if intra_state else Decimal("0")
    sgst_rate = rates.sgst if intra_state else Decimal("0")
    igst_rate = Decimal("0") if intra_state else rates.igst
    return [
        OrderLine(
            description=line.description,
            sac=line.sac,
            quantity=line.quantity,
            unit_price=line.unit_price,
            taxable_value=line.taxable_value,
            cgst=line.cgst,
            sgst=line.sgst,
            igst=line.igst,
            total=line.total,
            cgst_rate=cgst_rate,
            sgst_rate=sgst_rate,
            igst_rate=igst_rate,
        )
        for line in priced.lines
    ]


def request_hash(items: list[Item]) -> str:
    """What makes two requests for one order id the same order: its items, canonically."""
    canonical = json.dumps(
        [[i.description, i.sac, i.quantity, format_money(i.unit_price)] for i in items], separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def same_order(existing: Order, fingerprint: str) -> Order:
    """A repeated order id answers the order recorded with it, unless its items differ (`OrderConflict`)."""
    if existing.request_hash != fingerprint:
        raise OrderConflict("An order with this id and other items exists; nothing was charged.")
    return existing
