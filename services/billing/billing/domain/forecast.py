"""When the credits run out, and the balance day by day: pure rules over figures the ledger gives.

Money stays in integer paise throughout. The daily spend is the window's debits divided by its days,
rounded half-up to the paisa (what the answer shows); the days left are the whole days the balance lasts
at the window's exact average (balance x window days // debits, never from the rounded figure), and the
run-out date is that many days after today in India. Nothing spent in the window: no forecast (nulls).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

WINDOW_DAYS = 30
HISTORY_DAYS = 90
MAX_HISTORY_DAYS = 366


@dataclass(frozen=True)
class Forecast:
    window_days: int
    daily_spend_minor: int | None
    days_left: int | None
    runs_out_on: date | None


def forecast(*, spent_minor: int, balance_minor: int, today: date, window_days: int = WINDOW_DAYS) -> Forecast:
    """The forecast from the debits of the last `window_days` (`spent_minor`, positive) and the balance now."""
    if spent_minor <= 0:
        return Forecast(window_days, None, None, None)
    daily_minor = (2 * spent_minor + window_days) // (2 * window_days)  # half-up: the paisa is whole
    days_left = max(balance_minor, 0) * window_days // spent_minor
    return Forecast(window_days, daily_minor, days_left, today + timedelta(days=days_left))


def closing_balances(
    *, opening_minor: int, closes: Mapping[date, int], first: date, last: date
) -> list[tuple[date, int]]:
    """Each day's closing balance from `first` to `last`: the day's last balance in `closes`, else the day
    before's (`opening_minor` before `first`)."""
    balances = []
    balance = opening_minor
    day = first
    while day <= last:
        balance = closes.get(day, balance)
        balances.append((day, balance))
        day += timedelta(days=1)
    return balances
