"""The wallet's rules, with no I/O."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, overload

from tollgate_shared.errors import DomainError
from tollgate_shared.money import MAX_MINOR, format_money, from_minor

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement

KINDS = ("online_payment", "offline_payment", "order", "adjustment")


class InsufficientCredits(DomainError):
    status, code, title = 402, "insufficient_credits", "The balance does not cover this"


class BalanceLimit(DomainError):
    """A credit that would take the balance past the largest amount billing keeps (`MAX_MINOR`)."""

    status, code, title = 409, "balance_limit", "The balance cannot hold this much"


def has_room(balance_minor: int, credit_minor: int) -> bool:
    """Whether a balance may take a credit: every balance stays a valid amount of money."""
    return balance_minor + credit_minor <= MAX_MINOR


def check_room(balance_minor: int, credit_minor: int) -> None:
    """Raise `BalanceLimit` (saying by how much) unless the balance may take the credit."""
    if not has_room(balance_minor, credit_minor):
        raise BalanceLimit(balance_limit_reason(balance_minor, credit_minor))


def balance_limit_reason(balance_minor: int, credit_minor: int) -> str:
    return (
        f"Crediting {format_money(from_minor(credit_minor))} would take the balance of "
        f"{format_money(from_minor(balance_minor))} past the largest balance an account may hold, "
        f"{format_money(from_minor(MAX_MINOR))}."
    )


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
