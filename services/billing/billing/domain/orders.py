"""An order's price, with no I/O: its lines priced with GST, the totals, and the range they must stay in."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from billing.domain.gst import PricedLine, Rates, price_line
from tollgate_shared.errors import InvalidField
from tollgate_shared.money import MAX_AMOUNT, format_money

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Item:
    description: str
    sac: str
    quantity: int
    unit_price: Decimal


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
