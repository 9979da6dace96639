"""An amount in words as Indian invoices print it: thousand, lakh, crore.

    Decimal("123456.78") -> "Rupees One Lakh Twenty Three Thousand Four Hundred Fifty Six
                             and Seventy Eight Paise Only"

Choices a reader might otherwise undo:
- The Indian system throughout, since these are Indian GST documents: crores are
  not promoted to a larger unit, so 10^9 is "One Hundred Crore" and 10^12 (the
  largest amount Money allows) is "One Lakh Crore".
- No "and" inside the rupees ("One Hundred Five"); the single "and" joins rupees
  and paise, so the phrase never reads ambiguously.
- Whole amounts have no paise part ("Rupees Five Only"); 0 is "Rupees Zero Only";
  an amount below one rupee names only the paise ("Fifty Paise Only"), as
  cheque writers do, rather than "Rupees Zero and Fifty Paise".
- The label stays "Rupees" for one rupee ("Rupees One Only": the fixed prefix of
  Indian forms); the minor unit is singular when it is one ("One Paisa").
- Other currencies: a few known ones by name (US Dollars and Cents, Euros and
  Cents, Pounds Sterling and Pence); any other ISO code is used as the label and
  its hundredths are written as a fraction ("AED One Hundred and 50/100 Only").
- Amounts are Decimals with at most two significant places: "1.50" and "1.500"
  are the same amount, "1.505" is refused, as are negatives, NaN and floats.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import NamedTuple

_ONES = [
    *("Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine"),
    *("Ten", "Eleven", "Twelve", "Thirteen", "Fourteen", "Fifteen", "Sixteen", "Seventeen", "Eighteen", "Nineteen"),
]
_TENS = ["", "", "Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety"]
_CURRENCY_CODE = re.compile(r"[A-Z]{3}")
_HUNDREDTH = Decimal("0.01")


class _Units(NamedTuple):
    major: str
    minor: str | None  # None: hundredths written as a fraction
    minor_singular: str | None


_KNOWN_UNITS = {
    "INR": _Units("Rupees", "Paise", "Paisa"),
    "USD": _Units("US Dollars", "Cents", "Cent"),
    "EUR": _Units("Euros", "Cents", "Cent"),
    "GBP": _Units("Pounds Sterling", "Pence", "Penny"),
}


def amount_in_words(amount: Decimal, currency: str = "INR") -> str:
    """The amount in words in the Indian numbering system, e.g. "Rupees Ten and Five Paise Only"."""
    units = _units(currency)
    whole, hundredths = _split(amount)
    if units.minor is None:
        fraction = f" and {hundredths:02d}/100" if hundredths else ""
        return f"{units.major} {integer_in_words(whole)}{fraction} Only"
    minor = units.minor_singular if hundredths == 1 else units.minor
    if whole == 0 and hundredths:
        return f"{integer_in_words(hundredths)} {minor} Only"
    paise = f" and {integer_in_words(hundredths)} {minor}" if hundredths else ""
    return f"{units.major} {integer_in_words(whole)}{paise} Only"


def integer_in_words(number: int) -> str:
    """A non-negative integer in words, Indian system: 1234567 -> "Twelve Lakh Thirty Four Thousand ..."."""
    if number < 0:
        raise ValueError("must not be negative")
    if number == 0:
        return _ONES[0]
    return " ".join(_indian_words(number))


def _indian_words(number: int) -> list[str]:
    crore, rest = divmod(number, 10_000_000)
    lakh, rest = divmod(rest, 100_000)
    thousand, rest = divmod(rest, 1_000)
    words = [*_indian_words(crore), "Crore"] if crore else []
    if lakh:
        words += [*_below_hundred(lakh), "Lakh"]
    if thousand:
        words += [*_below_hundred(thousand), "Thousand"]
    return words + _below_thousand(rest)


def _below_thousand(number: int) -> list[str]:
    hundreds, rest = divmod(number, 100)
    return ([_ONES[hundreds], "Hundred"] if hundreds else []) + _below_hundred(rest)


def _below_hundred(number: int) -> list[str]:
    if number == 0:
        return []
    if number < 20:
        return [_ONES[number]]
    tens, ones = divmod(number, 10)
    return [_TENS[tens], _ONES[ones]] if ones else [_TENS[tens]]


def _units(currency: str) -> _Units:
    if not _CURRENCY_CODE.fullmatch(currency):
        raise ValueError(f"currency must be an ISO 4217 code such as 'INR', not {currency!r}")
    return _KNOWN_UNITS.get(currency, _Units(currency, None, None))


def _split(amount: Decimal) -> tuple[int, int]:
    if not isinstance(amount, Decimal):
        # A float would already have lost its paise; ints hide whether they are rupees or paise.
        raise TypeError(f"amount must be a Decimal, not {type(amount).__name__}")
    if not amount.is_finite():
        raise ValueError("amount must be a finite number")
    if amount < 0:
        raise ValueError("amount must not be negative")
    if amount != amount.quantize(_HUNDREDTH):
        raise ValueError("amount must have at most two decimal places")
    hundredths = int(amount.quantize(_HUNDREDTH).scaleb(2))
    return divmod(hundredths, 100)
