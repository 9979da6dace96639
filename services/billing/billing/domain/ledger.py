"""The wallet's rules, with no I/O."""

from __future__ import annotations

from tollgate_shared.errors import DomainError

KINDS = ("online_payment", "offline_payment", "order", "adjustment")


class InsufficientCredits(DomainError):
    status, code, title = 402, "insufficient_credits", "The balance does not cover this"


def is_below(balance_minor: int, threshold_minor: int) -> bool:
    """`below_threshold` is true while balance < threshold (a zero threshold never warns)."""
    return balance_minor < threshold_minor


def crossed_below(was_below: bool, balance_minor: int, threshold_minor: int) -> bool:
    """True once per crossing: the balance just went below the threshold."""
    return not was_below and is_below(balance_minor, threshold_minor)
