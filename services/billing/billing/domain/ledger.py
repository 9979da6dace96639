"""The wallet's rules, with no I/O: its records, the kinds of entries, and when a change is refused or warns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, overload

from tollgate_shared.errors import DomainError
from tollgate_shared.events.vocabulary import EntryKind as EntryKind
from tollgate_shared.money import MAX_MINOR, format_money, from_minor

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement


@dataclass(frozen=True)
class Wallet:
    account_id: str
    currency: str
    balance_minor: int
    low_balance_threshold_minor: int
    below_threshold: bool

    @classmethod
    def empty(cls, account_id: str, currency: str) -> Wallet:
        """The wallet of an account billing has not heard of yet."""
        return cls(account_id, currency, 0, 0, below_threshold=False)


@dataclass(frozen=True)
class Entry:
    id: str
    account_id: str
    kind: EntryKind
    reference: str
    amount_minor: int  # signed: credits positive, debits negative
    balance_after_minor: int
    created_at: datetime


@dataclass(frozen=True)
class Applied:
    """What applying an amount did: the entry's id and the balance after; `already_applied` for a repeat."""

    entry_id: str
    amount_minor: int
    balance_after_minor: int
    already_applied: bool


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


def refusal(balance_minor: int, amount_minor: int) -> DomainError | None:
    """Why the balance may not take `amount_minor` (signed): `BalanceLimit` for a credit past the maximum,
    `InsufficientCredits` for a debit below zero; None when it may."""
    after = balance_minor + amount_minor
    if 0 <= after <= MAX_MINOR:
        return None
    if amount_minor > 0:
        return BalanceLimit(balance_limit_reason(balance_minor, amount_minor))
    return InsufficientCredits(f"The balance is {from_minor(balance_minor)}.")


def credit_source(kind: EntryKind) -> Literal["online_payment", "offline_payment", "adjustment"]:
    """What `billing.credits.added` says the credit came from."""
    if kind == EntryKind.ONLINE_PAYMENT:
        return "online_payment"
    if kind == EntryKind.OFFLINE_PAYMENT:
        return "offline_payment"
    return "adjustment"


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
