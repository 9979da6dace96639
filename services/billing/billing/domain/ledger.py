"""The wallet's rules, with no I/O."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, overload

from tollgate_shared.errors import DomainError

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement

KINDS = ("online_payment", "offline_payment", "order", "adjustment")


class InsufficientCredits(DomainError):
    status, code, title = 402, "insufficient_credits", "The balance does not cover this"


@overload
def is_below(balance_minor: int, threshold_minor: int) -> bool: ...
@overload
def is_below(balance_minor: ColumnElement[Any], threshold_minor: ColumnElement[Any]) -> ColumnElement[bool]: ...
def is_below(balance_minor: Any, threshold_minor: Any) -> Any:
    """`below_threshold` is true while balance < threshold (a zero threshold never warns).

    Also the SQL of it, given columns: the wallet's `UPDATE` sets the flag with it.
    """
    return balance_minor < threshold_minor


def crossed_below(was_below: bool, balance_minor: int, threshold_minor: int) -> bool:
    """True once per crossing: the balance just went below the threshold."""
    return not was_below and is_below(balance_minor, threshold_minor)
