"""The wallet's and the ledger's statements, behind named functions.

A change is one conditional `UPDATE` of the wallet row: it adds the amount only
if the balance stays between zero and the largest amount billing keeps
(`MAX_MINOR`), and takes the row's lock, so concurrent changes to one account
queue in the database instead of racing. On PostgreSQL the move and its ledger
entry are one statement (a data-modifying `WITH`), so the lock is held for that
statement and the commit only. Statements are built once and run through the
asyncpg bypass (`tollgate_shared.direct_sql`); docs/decisions.md (Billing) has
the figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import CTE, BigInteger, String, bindparam, exists, func, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from billing.adapters.tables import ledger_entry, wallet
from billing.domain.ledger import Applied, Entry, EntryKind, Wallet, is_below
from tollgate_shared import direct_sql
from tollgate_shared.db import insert_unless_exists
from tollgate_shared.money import MAX_MINOR
from tollgate_shared.pagination import PageParams, fetch_page


@dataclass(frozen=True)
class Moved:
    """The wallet after a move; `entered` is false when its ledger entry existed already (applied before)."""

    balance_minor: int
    low_balance_threshold_minor: int
    currency: str
    entered: bool


def wallet_from(row: Any) -> Wallet:
    return Wallet(
        account_id=row.account_id,
        currency=row.currency,
        balance_minor=int(row.balance_minor),
        low_balance_threshold_minor=int(row.low_balance_threshold_minor),
        below_threshold=bool(row.below_threshold),
    )


def entry_from(row: Any) -> Entry:
    return Entry(
        id=row.id,
        account_id=row.account_id,
        kind=EntryKind(row.kind),
        reference=row.reference,
        amount_minor=int(row.amount_minor),
        balance_after_minor=int(row.balance_after_minor),
        created_at=row.created_at,
    )


# Built once: building a Core statement costs more than running it (docs/decisions.md, Billing).
_WALLET = select(wallet).where(wallet.c.account_id == bindparam("p_account"))
_WALLET_FOR_UPDATE = _WALLET.with_for_update()
_BALANCE = select(wallet.c.balance_minor).where(wallet.c.account_id == bindparam("p_account"))
_NEW_BALANCE = wallet.c.balance_minor + bindparam("p_amount")
# In SQL every SET reads the row as it was, so `below_threshold` is judged on the new balance.
MOVE_IF_COVERED = (
    update(wallet)
    .where(wallet.c.account_id == bindparam("p_account"), _NEW_BALANCE >= 0, _NEW_BALANCE <= MAX_MINOR)
    .values(
        balance_minor=_NEW_BALANCE,
        below_threshold=is_below(_NEW_BALANCE, wallet.c.low_balance_threshold_minor),
        updated_at=bindparam("p_now"),
    )
    .returning(wallet.c.balance_minor, wallet.c.low_balance_threshold_minor, wallet.c.currency)
)


def enter_moved(moved: CTE) -> postgresql.Insert:
    """PostgreSQL: the ledger entry of a move (`moved`, a CTE of `MOVE_IF_COVERED`), no row when nothing moved."""
    return postgresql.insert(ledger_entry).from_select(
        ["id", "account_id", "kind", "reference", "amount_minor", "balance_after_minor", "created_at"],
        select(
            bindparam("p_entry", type_=String),
            bindparam("p_account", type_=String),
            bindparam("p_kind", type_=String),
            bindparam("p_reference", type_=String),
            bindparam("p_amount", type_=BigInteger),
            moved.c.balance_minor,
            # The time it is applied, once the lock is ours (the statement may have
            # waited for it): entries read in time order are in the order applied,
            # on one clock for every replica.
            func.clock_timestamp(),
        ),
    )


# PostgreSQL: the move and its ledger entry in one statement. `entered` is false
# when the entry conflicted (applied before); no row when nothing moved.
_MOVED = MOVE_IF_COVERED.cte("moved")
_ENTERED = enter_moved(_MOVED).on_conflict_do_nothing().returning(ledger_entry.c.id).cte("entered")
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
_SET_THRESHOLD = (
    update(wallet)
    .where(wallet.c.account_id == bindparam("p_account"))
    .values(low_balance_threshold_minor=bindparam("p_threshold"), below_threshold=bindparam("p_below"))
    .returning(*wallet.c)
)


async def read_wallet(db: AsyncSession, account_id: str) -> Wallet | None:
    """The account's wallet, unlocked; None before it is opened."""
    row = (await db.execute(_WALLET, {"p_account": account_id})).first()
    return None if row is None else wallet_from(row)


async def balance_of(db: AsyncSession, account_id: str) -> int:
    """The account's balance in minor units now, unlocked (0 for a wallet not opened yet): for early refusals."""
    return int(await db.scalar(_BALANCE, {"p_account": account_id}) or 0)


async def lock_wallet(db: AsyncSession, account_id: str) -> Wallet | None:
    """The account's wallet, locked for this transaction (`SELECT … FOR UPDATE`); None before it is opened."""
    row = await direct_sql.first(db, _WALLET_FOR_UPDATE, {"p_account": account_id})
    return None if row is None else wallet_from(row)


async def open_wallet_unless_open(db: AsyncSession, account_id: str, *, currency: str) -> None:
    """Insert the account's empty wallet unless it exists (or waits for whoever is inserting it)."""
    opening = {
        "account_id": account_id,
        "currency": currency,
        "balance_minor": 0,
        "low_balance_threshold_minor": 0,
        "below_threshold": False,
        "created_at": datetime.now(UTC),
    }
    await insert_unless_exists(db, wallet, opening)


async def move_if_covered(db: AsyncSession, account_id: str, amount_minor: int) -> Moved | None:
    """Add `amount_minor` unless the balance would leave its range: the wallet after, locked; None if not moved."""
    moved = await direct_sql.first(
        db, MOVE_IF_COVERED, {"p_account": account_id, "p_amount": amount_minor, "p_now": datetime.now(UTC)}
    )
    if moved is None:
        return None
    return Moved(int(moved.balance_minor), int(moved.low_balance_threshold_minor), moved.currency, entered=True)


async def move_and_enter(
    db: AsyncSession, account_id: str, kind: EntryKind, reference: str, amount_minor: int, entry_id: str
) -> Moved | None:
    """Move the money and write its entry: the wallet after (with `entered`), or None if nothing moved."""
    if db.bind.dialect.name == "postgresql":
        values = {"p_account": account_id, "p_amount": amount_minor, "p_now": datetime.now(UTC)}
        values |= {"p_entry": entry_id, "p_kind": str(kind), "p_reference": reference}
        row = await direct_sql.first(db, _MOVE_AND_ENTER, values)
        if row is None:
            return None
        return Moved(int(row.balance_minor), int(row.low_balance_threshold_minor), row.currency, bool(row.entered))
    # SQLite has no data-modifying WITH: two statements, under the same lock.
    moved = await move_if_covered(db, account_id, amount_minor)
    if moved is None:
        return None
    entry = {
        "id": entry_id,
        "account_id": account_id,
        "kind": str(kind),
        "reference": reference,
        "amount_minor": amount_minor,
        "balance_after_minor": moved.balance_minor,
        "created_at": datetime.now(UTC),  # once the move has the lock: entries in time order are in the order applied
    }
    entered = await insert_unless_exists(db, ledger_entry, entry) is not None
    return Moved(moved.balance_minor, moved.low_balance_threshold_minor, moved.currency, entered)


async def applied_entry(db: AsyncSession, account_id: str, kind: EntryKind, reference: str) -> Applied | None:
    """The entry that already applied (kind, reference), if any."""
    params = {"p_account": account_id, "p_kind": str(kind), "p_reference": reference}
    row = await direct_sql.first(db, _ENTRY, params)
    if row is None:
        return None
    return Applied(row.id, int(row.amount_minor), int(row.balance_after_minor), already_applied=True)


async def store_threshold(db: AsyncSession, account_id: str, *, threshold_minor: int, below: bool) -> Wallet:
    """Set the wallet's threshold and its `below_threshold` flag: the wallet after."""
    changed = await db.execute(
        _SET_THRESHOLD, {"p_account": account_id, "p_threshold": threshold_minor, "p_below": below}
    )
    return wallet_from(changed.one())


async def ledger_page(db: AsyncSession, account_id: str, paging: PageParams) -> tuple[list[Entry], int]:
    """One page of the account's entries, newest first, and how many there are."""
    query = select(ledger_entry).where(ledger_entry.c.account_id == account_id)
    order = [ledger_entry.c.created_at.desc(), ledger_entry.c.id]
    rows, total = await fetch_page(db, query, order_by=order, paging=paging)
    return [entry_from(row) for row in rows], total
