"""GST rules with no I/O: states, GSTIN validation, and tax per line.

Tax per line (DESIGN.md §9): CGST and SGST within the seller's state, IGST
across states, each computed on the line's taxable value and rounded half-up to
the paisa; totals are sums of lines; no rupee round-off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from tollgate_shared.gst_states import state_code

_GSTIN = re.compile(r"^[0-9]{2}[A-Z]{5}[0-9]{4}[A-Z][1-9A-Z]Z[0-9A-Z]$")
_CHARSET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
PAISA = Decimal("0.01")


class InvalidGstin(ValueError):
    pass


def gstin_check_character(first14: str) -> str:
    total = 0
    for position, character in enumerate(first14):
        product = _CHARSET.index(character) * (1 if position % 2 == 0 else 2)
        total += product // 36 + product % 36
    return _CHARSET[(36 - total % 36) % 36]


def validate_gstin(gstin: str, *, state: str | None) -> str:
    """The GSTIN, upper-cased, if its format, checksum and state code are right (the last unless `state` is None:
    an unknown state, itself refused, leaves the GSTIN's format and checksum to check)."""
    value = gstin.strip().upper()
    if not _GSTIN.match(value):
        raise InvalidGstin("must be 15 characters: state code, PAN, entity number, Z, check character")
    if gstin_check_character(value[:14]) != value[14]:
        raise InvalidGstin("has a wrong check character")
    if state is not None and value[:2] != state_code(state):
        raise InvalidGstin("does not belong to the state of the address")
    return value


@dataclass(frozen=True)
class Rates:
    cgst: Decimal
    sgst: Decimal
    igst: Decimal


@dataclass(frozen=True)
class PricedLine:
    description: str
    sac: str
    quantity: int
    unit_price: Decimal
    taxable_value: Decimal
    cgst: Decimal
    sgst: Decimal
    igst: Decimal

    @property
    def total(self) -> Decimal:
        return self.taxable_value + self.cgst + self.sgst + self.igst


def _percent(amount: Decimal, rate: Decimal) -> Decimal:
    return (amount * rate / 100).quantize(PAISA, rounding=ROUND_HALF_UP)


def price_line(
    description: str, sac: str, quantity: int, unit_price: Decimal, *, intra_state: bool, rates: Rates
) -> PricedLine:
    taxable = (unit_price * quantity).quantize(PAISA)
    if intra_state:
        cgst, sgst, igst = _percent(taxable, rates.cgst), _percent(taxable, rates.sgst), Decimal("0.00")
    else:
        cgst, sgst, igst = Decimal("0.00"), Decimal("0.00"), _percent(taxable, rates.igst)
    return PricedLine(description, sac, quantity, unit_price, taxable, cgst, sgst, igst)
