"""Applying money to a wallet: one ledger entry, once, never below zero.

Every change locks the wallet row first, so concurrent changes to one account
queue instead of racing; a repeated (kind, reference) answers the entry already
made; the balance moves by a conditional update and the database's checks are
the last line of defence.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from billing.adapters.tables import ledger_entry, wallet
from billing.domain.ledger import InsufficientCredits, crossed_below, is_below
from tollgate_shared.events import new_event
from tollgate_shared.events.catalogue import BalanceLow, CreditsAdded
from tollgate_shared.money import from_minor
from tollgate_shared.outbox import record_event


@dataclass(frozen=True)
class Applied:
    entry_id: str
    amount_minor: int
    balance_after_minor: int
    already_applied: bool


async def locked_wallet(db: AsyncSession, account_id: str, *, currency: str) -> Any:
    """The account's wallet row, locked for this transaction (opened if billing has not seen it yet)."""
    insert = postgresql.insert if db.bind.dialect.name == "postgresql" else sqlite.insert
    now = datetime.now(UTC)
    await db.execute(
        insert(wallet)
        .values(
            account_id=account_id,
            currency=currency,
            balance_minor=0,
            low_balance_threshold_minor=0,
            below_threshold=False,
            created_at=now,
        )
        .on_conflict_do_nothing()
    )
    return (await db.execute(select(wallet).where(wallet.c.account_id == account_id).with_for_update())).one()


async def apply_to_wallet(
    db: AsyncSession, *, account_id: str, kind: str, reference: str, amount_minor: int, currency: str
) -> Applied:
    """Credit (positive) or debit (negative) the wallet once for (kind, reference)."""
    current = await locked_wallet(db, account_id, currency=currency)
    existing = (
        await db.execute(
            select(ledger_entry).where(
                ledger_entry.c.account_id == account_id,
                ledger_entry.c.kind == kind,
                ledger_entry.c.reference == reference,
            )
        )
    ).first()
    if existing is not None:
        return Applied(existing.id, existing.amount_minor, existing.balance_after_minor, already_applied=True)
    balance = await db.scalar(
        update(wallet)
        .where(wallet.c.account_id == account_id, wallet.c.balance_minor + amount_minor >= 0)
        .values(balance_minor=wallet.c.balance_minor + amount_minor, updated_at=datetime.now(UTC))
        .returning(wallet.c.balance_minor)
    )
    if balance is None:
        raise InsufficientCredits(f"The balance is {from_minor(current.balance_minor)}.")
    entry_id = str(uuid.uuid4())
    await db.execute(
        ledger_entry.insert().values(
            id=entry_id,
            account_id=account_id,
            kind=kind,
            reference=reference,
            amount_minor=amount_minor,
            balance_after_minor=balance,
            created_at=datetime.now(UTC),
        )
    )
    await _after_balance_change(
        db,
        account_id=account_id,
        currency=current.currency,
        was_below=bool(current.below_threshold),
        threshold_minor=int(current.low_balance_threshold_minor),
        balance_minor=int(balance),
    )
    if amount_minor > 0:
        source = kind if kind in ("online_payment", "offline_payment") else "adjustment"
        added = CreditsAdded(
            amount=from_minor(amount_minor),
            balance=from_minor(balance),
            currency=current.currency,
            source=source,
            reference=reference,
        )
        await record_event(db, new_event("billing.credits.added", added, source="billing", account_id=account_id))
    return Applied(entry_id, amount_minor, int(balance), already_applied=False)


async def _after_balance_change(
    db: AsyncSession, *, account_id: str, currency: str, was_below: bool, threshold_minor: int, balance_minor: int
) -> None:
    """Keep `below_threshold` current; publish `billing.balance.low` once per crossing."""
    now_below = is_below(balance_minor, threshold_minor)
    if now_below != was_below:
        await db.execute(update(wallet).where(wallet.c.account_id == account_id).values(below_threshold=now_below))
    if crossed_below(was_below, balance_minor, threshold_minor):
        low = BalanceLow(
            balance=from_minor(balance_minor), low_balance_threshold=from_minor(threshold_minor), currency=currency
        )
        await record_event(db, new_event("billing.balance.low", low, source="billing", account_id=account_id))


async def set_threshold(db: AsyncSession, *, account_id: str, threshold_minor: int, currency: str) -> Any:
    """A new threshold; raising it above the balance is a crossing too."""
    current = await locked_wallet(db, account_id, currency=currency)
    await db.execute(
        update(wallet).where(wallet.c.account_id == account_id).values(low_balance_threshold_minor=threshold_minor)
    )
    await _after_balance_change(
        db,
        account_id=account_id,
        currency=current.currency,
        was_below=bool(current.below_threshold),
        threshold_minor=threshold_minor,
        balance_minor=int(current.balance_minor),
    )
    return (await db.execute(select(wallet).where(wallet.c.account_id == account_id))).one()
