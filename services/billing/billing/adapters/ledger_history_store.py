"""The ledger summed and sampled in the database, for the forecast and the balance history: one account's
debits since an instant, and each India day's last `balance_after` (the day computed by the database, so
the history is one statement however long the ledger)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from billing.adapters.tables import ledger_entry


async def debits_since(db: AsyncSession, account_id: str, since: datetime) -> int:
    """What the account spent (its debits, as a positive sum of paise) since `since`."""
    query = select(func.coalesce(func.sum(-ledger_entry.c.amount_minor), 0)).where(
        ledger_entry.c.account_id == account_id,
        ledger_entry.c.amount_minor < 0,
        ledger_entry.c.created_at >= since,
    )
    return int((await db.execute(query)).scalar_one())


async def balance_before(db: AsyncSession, account_id: str, moment: datetime) -> int:
    """The balance just before `moment`: the last entry's `balance_after` (0 before the first entry)."""
    query = (
        select(ledger_entry.c.balance_after_minor)
        .where(ledger_entry.c.account_id == account_id, ledger_entry.c.created_at < moment)
        .order_by(ledger_entry.c.created_at.desc(), ledger_entry.c.id.desc())
        .limit(1)
    )
    found = (await db.execute(query)).scalar_one_or_none()
    return int(found) if found is not None else 0


def _india_day(db: AsyncSession) -> ColumnElement[object]:
    # PostgreSQL knows time zones; SQLite stores UTC text, shifted by IST's fixed +05:30.
    if db.bind.dialect.name == "postgresql":
        return func.date(func.timezone(literal_column("'Asia/Kolkata'"), ledger_entry.c.created_at))
    return func.date(ledger_entry.c.created_at, literal_column("'+330 minutes'"))


async def closing_balances_since(db: AsyncSession, account_id: str, since: datetime) -> dict[date, int]:
    """The last `balance_after` of each India day with entries since `since`."""
    day = _india_day(db).label("day")
    latest_first = func.row_number().over(
        partition_by=day, order_by=(ledger_entry.c.created_at.desc(), ledger_entry.c.id.desc())
    )
    entries = (
        select(day, ledger_entry.c.balance_after_minor, latest_first.label("nth"))
        .where(ledger_entry.c.account_id == account_id, ledger_entry.c.created_at >= since)
        .subquery()
    )
    rows = await db.execute(select(entries.c.day, entries.c.balance_after_minor).where(entries.c.nth == 1))
    return {date.fromisoformat(str(row.day)): int(row.balance_after_minor) for row in rows}
