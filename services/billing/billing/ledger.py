"""Applying money to a wallet: one ledger entry, once, never below zero nor above the maximum.

A change is one conditional `UPDATE` of the wallet row: it adds the amount only
if the balance stays between zero and the largest amount billing keeps
(`MAX_MINOR`), and takes the row's lock, so concurrent
changes to one account queue in the database instead of racing. The ledger
entry is written with the balance the `UPDATE` returned; on PostgreSQL both are
one statement (a data-modifying `WITH`), so the lock is held for that statement
and the commit only (placing an order moves money last, its events already
written, for that reason). A repeated (kind, reference) finds the entry already
made (the unique key decides) and the move is undone under the same lock. The
database's checks (never negative, once per reference) are the last line of
defence.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, String, bindparam, exists, func, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from billing.adapters.tables import ledger_entry, wallet
from billing.domain.ledger import InsufficientCredits, check_room, crossed_below, is_below
from tollgate_shared import direct_sql
from tollgate_shared.db import insert_unless_exists
from tollgate_shared.events.models import BalanceLow, CreditsAdded
from tollgate_shared.money import MAX_MINOR, from_minor
from tollgate_shared.outbox import record_event


@dataclass(frozen=True)
class Applied:
    entry_id: str
    amount_minor: int
    balance_after_minor: int
    already_applied: bool


# The statements every wallet change runs, built once: building a Core statement
# (≈ 0.1 ms of CPU) costs more than running it, and a prebuilt one's cache key
# is remembered.
_WALLET_FOR_UPDATE = select(wallet).where(wallet.c.account_id == bindparam("p_account")).with_for_update()
_NEW_BALANCE = wallet.c.balance_minor + bindparam("p_amount")
# In SQL every SET reads the row as it was, so `below_threshold` is judged on the new balance.
_MOVE_IF_COVERED = (
    update(wallet)
    .where(wallet.c.account_id == bindparam("p_account"), _NEW_BALANCE >= 0, _NEW_BALANCE <= MAX_MINOR)
    .values(
        balance_minor=_NEW_BALANCE,
        below_threshold=is_below(_NEW_BALANCE, wallet.c.low_balance_threshold_minor),
        updated_at=bindparam("p_now"),
    )
    .returning(wallet.c.balance_minor, wallet.c.low_balance_threshold_minor, wallet.c.currency)
)
# PostgreSQL: the move and its ledger entry in one statement. `entered` is false
# when the entry conflicted (applied before); no row when nothing moved.
_MOVED = _MOVE_IF_COVERED.cte("moved")
_ENTERED = (
    postgresql.insert(ledger_entry)
    .from_select(
        ["id", "account_id", "kind", "reference", "amount_minor", "balance_after_minor", "created_at"],
        select(
            bindparam("p_entry", type_=String),
            bindparam("p_account", type_=String),
            bindparam("p_kind", type_=String),
            bindparam("p_reference", type_=String),
            bindparam("p_amount", type_=BigInteger),
            _MOVED.c.balance_minor,
            # The time it is applied, once the lock is ours (the statement may have
            # waited for it): entries read in time order are in the order applied,
            # on one clock for every replica.
            func.clock_timestamp(),
        ),
    )
    .on_conflict_do_nothing()
    .returning(ledger_entry.c.id)
    .cte("entered")
)
_MOVE_AND_ENTER = select(
    _MOVED.c.balance_minor,
    _MOVED.c.low_balance_threshold_minor,
    _MOVED.c.currency,
    exists(select(_ENTERED.c.id)).label("entered"),
)
_ENTRY = select(ledger_entry).where(
    ledger_entry.c.account_id == bindparam("p_account"),
    ledger_entry.c.kind == bindparam("p_kind"),
    ledger_entry.c.reference == bindparam("p_reference"),
)


_BALANCE = select(wallet.c.balance_minor).where(wallet.c.account_id == bindparam("p_account"))


async def balance_of(db: AsyncSession, account_id: str) -> int:
    """The account's balance in minor units now, unlocked (0 for a wallet not opened yet): for early refusals."""
    return int(await db.scalar(_BALANCE, {"p_account": account_id}) or 0)


async def _lock_wallet_row(db: AsyncSession, account_id: str) -> Any:
    return await direct_sql.first(db, _WALLET_FOR_UPDATE, {"p_account": account_id})


async def locked_wallet(db: AsyncSession, account_id: str, *, currency: str) -> Any:
    """The account's wallet row, locked for this transaction (opened if billing has not seen it yet)."""
    row = await _lock_wallet_row(db, account_id)
    if row is not None:
        return row
    # Not opened yet (`auth.account.created` not handled yet): open it, or wait
    # for whoever is opening it, then lock the row that won.
    opening = {
        "account_id": account_id,
        "currency": currency,
        "balance_minor": 0,
        "low_balance_threshold_minor": 0,
        "below_threshold": False,
        "created_at": datetime.now(UTC),
    }
    await insert_unless_exists(db, wallet, opening)
    return await _lock_wallet_row(db, account_id)


async def _move_if_covered(db: AsyncSession, account_id: str, amount_minor: int) -> Any | None:
    """Add `amount_minor` unless the balance would leave its range: the row after, locked; None if not moved."""
    return await direct_sql.first(
        db, _MOVE_IF_COVERED, {"p_account": account_id, "p_amount": amount_minor, "p_now": datetime.now(UTC)}
    )


async def apply_to_wallet(
    db: AsyncSession,
    *,
    account_id: str,
    kind: str,
    reference: str,
    amount_minor: int,
    currency: str,
    entry_id: str | None = None,
) -> Applied:
    """Credit (positive) or debit (negative) the wallet once for (kind, reference).

    The new ledger entry gets `entry_id` when given (events written before the
    money moves can name it). Raises, writing nothing, `InsufficientCredits` when
    a debit is more than the balance and `BalanceLimit` when a credit would take
    it past the maximum. The wallet row stays locked until the transaction ends.
    """
    entry_id = entry_id or str(uuid.uuid4())
    moved = await _move_and_enter(db, account_id, kind, reference, amount_minor, entry_id)
    if moved is None:
        # Not moved: the wallet is not opened yet, or the balance does not cover a
        # debit or has no room for a credit. Under the lock, open it or find out which.
        current = await locked_wallet(db, account_id, currency=currency)
        balance_minor = int(current.balance_minor)
        if balance_minor + amount_minor < 0 or balance_minor + amount_minor > MAX_MINOR:
            if (existing := await _entry(db, account_id, kind, reference)) is not None:
                return existing
            if amount_minor > 0:
                check_room(balance_minor, amount_minor)
            raise InsufficientCredits(f"The balance is {from_minor(balance_minor)}.")
        moved = await _move_and_enter(db, account_id, kind, reference, amount_minor, entry_id)
        assert moved is not None  # locked, and in range
    balance = int(moved.balance_minor)
    if not moved.entered:
        # Applied before: undo this move (the row is still ours) and answer that entry.
        await _move_if_covered(db, account_id, -amount_minor)
        existing = await _entry(db, account_id, kind, reference)
        assert existing is not None  # the unique (account, kind, reference) entry that conflicted
        return existing
    threshold_minor = int(moved.low_balance_threshold_minor)
    await _publish_balance_events(
        db,
        account_id=account_id,
        currency=moved.currency,
        # `below_threshold` always equals is_below(balance, threshold): the flag before this move.
        was_below=is_below(balance - amount_minor, threshold_minor),
        threshold_minor=threshold_minor,
        balance_minor=balance,
    )
    if amount_minor > 0:
        source = kind if kind in ("online_payment", "offline_payment") else "adjustment"
        added = CreditsAdded(
            amount=from_minor(amount_minor),
            balance=from_minor(balance),
            currency=moved.currency,
            source=source,
            reference=reference,
        )
        await record_event(db, added, account_id=account_id)
    return Applied(entry_id, amount_minor, balance, already_applied=False)


async def _move_and_enter(
    db: AsyncSession, account_id: str, kind: str, reference: str, amount_minor: int, entry_id: str
) -> Any | None:
    """Move the money and write its entry: the wallet after (with `entered`), or None if nothing moved."""
    if db.bind.dialect.name == "postgresql":
        values = {"p_account": account_id, "p_amount": amount_minor, "p_now": datetime.now(UTC)}
        values |= {"p_entry": entry_id, "p_kind": kind, "p_reference": reference}
        return await direct_sql.first(db, _MOVE_AND_ENTER, values)
    # SQLite has no data-modifying WITH: two statements, under the same lock.
    moved = await _move_if_covered(db, account_id, amount_minor)
    if moved is None:
        return None
    entry = {
        "id": entry_id,
        "account_id": account_id,
        "kind": kind,
        "reference": reference,
        "amount_minor": amount_minor,
        "balance_after_minor": int(moved.balance_minor),
        "created_at": datetime.now(UTC),  # once the move has the lock: entries in time order are in the order applied
    }
    entered = await insert_unless_exists(db, ledger_entry, entry) is not None
    return _MovedAndEntered(moved.balance_minor, moved.low_balance_threshold_minor, moved.currency, entered)


@dataclass(frozen=True)
class _MovedAndEntered:
    balance_minor: int
    low_balance_threshold_minor: int
    currency: str
    entered: bool


async def _entry(db: AsyncSession, account_id: str, kind: str, reference: str) -> Applied | None:
    """The entry that already applied (kind, reference), if any."""
    row = await direct_sql.first(db, _ENTRY, {"p_account": account_id, "p_kind": kind, "p_reference": reference})
    if row is None:
        return None
    return Applied(row.id, row.amount_minor, row.balance_after_minor, already_applied=True)


async def _publish_balance_events(
    db: AsyncSession, *, account_id: str, currency: str, was_below: bool, threshold_minor: int, balance_minor: int
) -> None:
    """`billing.balance.low` once per crossing below the threshold (the caller keeps `below_threshold` current)."""
    if crossed_below(was_below, balance_minor, threshold_minor):
        low = BalanceLow(
            balance=from_minor(balance_minor), low_balance_threshold=from_minor(threshold_minor), currency=currency
        )
        await record_event(db, low, account_id=account_id)


async def set_threshold(db: AsyncSession, *, account_id: str, threshold_minor: int, currency: str) -> Any:
    """A new threshold; raising it above the balance is a crossing too."""
    current = await locked_wallet(db, account_id, currency=currency)
    changed = await db.execute(
        update(wallet)
        .where(wallet.c.account_id == account_id)
        .values(
            low_balance_threshold_minor=threshold_minor,
            below_threshold=is_below(int(current.balance_minor), threshold_minor),
        )
        .returning(*wallet.c)
    )
    await _publish_balance_events(
        db,
        account_id=account_id,
        currency=current.currency,
        was_below=bool(current.below_threshold),
        threshold_minor=threshold_minor,
        balance_minor=int(current.balance_minor),
    )
    return changed.one()
