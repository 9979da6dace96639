"""Applying money to a wallet: one ledger entry, once, never below zero nor above the maximum.

A repeated (kind, reference) finds the entry already made (the unique key
decides) and the move is undone under the same lock. Placing an order moves
money last, its events already written, so the wallet's lock is held for one
statement and the commit. The database's checks (never negative, once per
reference) are the last line of defence.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from billing.adapters.wallet_store import (
    applied_entry,
    lock_wallet,
    move_and_enter,
    move_if_covered,
    open_wallet_unless_open,
)
from billing.domain.ledger import Applied, EntryKind, Wallet, credit_source, crossed_below, is_below, refusal
from tollgate_shared.events.models import BalanceLow, CreditsAdded
from tollgate_shared.money import from_minor
from tollgate_shared.outbox import record_event


async def locked_wallet(db: AsyncSession, account_id: str, *, currency: str) -> Wallet:
    """The account's wallet, locked for this transaction (opened if billing has not seen it yet)."""
    found = await lock_wallet(db, account_id)
    if found is not None:
        return found
    # Not opened yet (`auth.account.created` not handled yet): open it, or wait
    # for whoever is opening it, then lock the row that won.
    await open_wallet_unless_open(db, account_id, currency=currency)
    opened = await lock_wallet(db, account_id)
    assert opened is not None
    return opened


async def apply_to_wallet(
    db: AsyncSession,
    *,
    account_id: str,
    kind: EntryKind,
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
    moved = await move_and_enter(db, account_id, kind, reference, amount_minor, entry_id)
    if moved is None:
        # Not moved: the wallet is not opened yet, or the balance does not cover a
        # debit or has no room for a credit. Under the lock, open it or find out which.
        current = await locked_wallet(db, account_id, currency=currency)
        refused = refusal(current.balance_minor, amount_minor)
        if refused is not None:
            if (existing := await applied_entry(db, account_id, kind, reference)) is not None:
                return existing
            raise refused
        moved = await move_and_enter(db, account_id, kind, reference, amount_minor, entry_id)
        assert moved is not None  # locked, and in range
    if not moved.entered:
        # Applied before: undo this move (the row is still ours) and answer that entry.
        await move_if_covered(db, account_id, -amount_minor)
        existing = await applied_entry(db, account_id, kind, reference)
        assert existing is not None  # the unique (account, kind, reference) entry that conflicted
        return existing
    balance, threshold = moved.balance_minor, moved.low_balance_threshold_minor
    # `below_threshold` always equals is_below(balance, threshold): the flag before this move.
    was_below = is_below(balance - amount_minor, threshold)
    await announce_low_balance(
        db, account_id, moved.currency, was_below=was_below, balance=balance, threshold=threshold
    )
    if amount_minor > 0:
        added = CreditsAdded(
            amount=from_minor(amount_minor),
            balance=from_minor(balance),
            currency=moved.currency,
            source=credit_source(kind),
            reference=reference,
        )
        await record_event(db, added, account_id=account_id)
    return Applied(entry_id, amount_minor, balance, already_applied=False)


async def announce_low_balance(
    db: AsyncSession, account_id: str, currency: str, *, was_below: bool, balance: int, threshold: int
) -> None:
    """`billing.balance.low` once per crossing below the threshold (the caller keeps `below_threshold` current)."""
    if crossed_below(was_below, balance, threshold):
        low = BalanceLow(balance=from_minor(balance), low_balance_threshold=from_minor(threshold), currency=currency)
        await record_event(db, low, account_id=account_id)
