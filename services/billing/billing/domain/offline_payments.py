"""Offline payments' rules that need no database."""

from __future__ import annotations

import re

_NOT_PART_OF_A_REFERENCE = re.compile(r"[^0-9A-Za-z]")


def reference_key(reference: str) -> str:
    """What makes two transfer references one: their letters, upper-cased, and digits.

    UTRs, IMPS reference numbers and cheque numbers are upper-case letters and
    digits; the spaces, dashes and lower case in what users type are copying
    and formatting (`utr-0001 ` is `UTR0001`). Empty when nothing is left.
    Only ASCII letters count, dropped before upper-casing: `"ß".upper()` is
    `"SS"` (a key longer than its reference and its column) and the long s
    (U+017F) upper-cases to `"S"`.
    """
    return _NOT_PART_OF_A_REFERENCE.sub("", reference).upper()
