"""Money: decimal strings in JSON, integer minor units in databases, never floats."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

MONEY_PATTERN = re.compile(r"^[0-9]+(\.[0-9]{1,2})?$")
# One trillion units: larger amounts are mistakes, not payments.
MAX_AMOUNT = Decimal("1000000000000.00")
CENTS = Decimal("0.01")
# The same in minor units: the most an amount computed from valid ones (an order's
# total, a balance) may reach, so every amount billing keeps stays a valid one.
MAX_MINOR = 100_000_000_000_000


class MoneyError(ValueError):
    """A value that is not a valid amount of money."""


def parse_money(value: object, *, allow_zero: bool = True) -> Decimal:
    """Parse a JSON money value: a string like "1180.00", never a float."""
    if isinstance(value, Decimal) and _is_plain_amount(value):
        # An amount the code computed: the checks below without the trip through text
        # (every order line's amounts are validated several times on their way to events).
        amount = value.quantize(CENTS)
    else:
        amount = _parse_text(_money_text(value))
    if not allow_zero and amount == 0:
        raise MoneyError("must be greater than zero")
    return amount


def _is_plain_amount(value: Decimal) -> bool:
    """At most two places, not negative, not too large (and not NaN or Infinity)."""
    exponent = value.as_tuple().exponent  # a letter for NaN and Infinity
    return isinstance(exponent, int) and exponent >= -2 and not value.is_signed() and value <= MAX_AMOUNT


def _money_text(value: object) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, str):
        return value
    # bool is an int; floats lose cents; ints are ambiguous about units.
    raise MoneyError('must be a decimal string such as "1180.00", not a JSON number')


def _parse_text(text: str) -> Decimal:
    if len(text) > 20 or not MONEY_PATTERN.fullmatch(text):
        raise MoneyError("must be a non-negative amount with at most two decimal places")
    amount = Decimal(text).quantize(CENTS)
    if amount > MAX_AMOUNT:
        raise MoneyError(f"must not exceed {MAX_AMOUNT}")
    return amount


def to_minor(amount: Decimal) -> int:
    """Decimal amount to integer minor units (paise, cents)."""
    quantized = amount.quantize(CENTS)
    if quantized != amount:
        raise MoneyError("has more than two decimal places")
    return int(quantized * 100)


def from_minor(minor: int) -> Decimal:
    """Integer minor units to a Decimal amount with two places."""
    return (Decimal(minor) / 100).quantize(CENTS)


def format_money(amount: Decimal) -> str:
    """The JSON form: a string with exactly two places."""
    return format(amount.quantize(CENTS), "f")


def _money_validator(allow_zero: bool) -> BeforeValidator:
    return BeforeValidator(lambda value: parse_money(value, allow_zero=allow_zero))


_MONEY_SCHEMA = WithJsonSchema({"type": "string", "pattern": MONEY_PATTERN.pattern, "examples": ["1180.00"]})
_MONEY_SERIALIZER = PlainSerializer(format_money, return_type=str)

Money = Annotated[Decimal, _money_validator(True), _MONEY_SERIALIZER, _MONEY_SCHEMA]
"""A non-negative amount: "0.00" allowed."""

PositiveMoney = Annotated[Decimal, _money_validator(False), _MONEY_SERIALIZER, _MONEY_SCHEMA]
"""A strictly positive amount, for payments and top-ups."""


def parse_signed_money(value: object) -> Decimal:
    """Ledger amounts are signed: credits positive, debits negative."""
    if isinstance(value, Decimal) and value < 0:
        return -parse_money(-value)
    if isinstance(value, str) and value.startswith("-"):
        return -parse_money(value[1:])
    return parse_money(value)


SignedMoney = Annotated[
    Decimal,
    BeforeValidator(parse_signed_money),
    _MONEY_SERIALIZER,
    WithJsonSchema({"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]{1,2})?$"}),
]
