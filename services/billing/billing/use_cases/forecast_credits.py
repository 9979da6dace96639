"""When the credits run out, and the balance over the last days: read from the ledger, decided by
`billing.domain.forecast`."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from billing.adapters.ledger_history_store import balance_before, closing_balances_since, debits_since
from billing.adapters.wallet_store import read_wallet
from billing.domain.calendar import india_today, start_of_day
from billing.domain.forecast import WINDOW_DAYS, Forecast, closing_balances, forecast
from billing.domain.ledger import Wallet


async def forecast_of(db: AsyncSession, account_id: str, *, now: datetime | None = None) -> Forecast:
    """The forecast from the account's debits in the last 30 days (30 x 24 hours before now) and its balance."""
    now = now or datetime.now(UTC)
    spent = await debits_since(db, account_id, now - timedelta(days=WINDOW_DAYS))
    held = await read_wallet(db, account_id)
    balance = held.balance_minor if held is not None else 0
    return forecast(spent_minor=spent, balance_minor=balance, today=india_today(now))


async def balance_history(
    db: AsyncSession, account_id: str, *, days: int, currency: str, now: datetime | None = None
) -> tuple[Wallet, list[tuple[date, int]]]:
    """The wallet now and each of the last `days` India days' closing balance, oldest first (today's so far)."""
    now = now or datetime.now(UTC)
    last = india_today(now)
    first = last - timedelta(days=days - 1)
    since = start_of_day(first)
    opening = await balance_before(db, account_id, since)
    closes = await closing_balances_since(db, account_id, since)
    held = await read_wallet(db, account_id) or Wallet.empty(account_id, currency)
    return held, closing_balances(opening_minor=opening, closes=closes, first=first, last=last)
