"""When the credits run out, and the balance day by day: what the dashboard's chart draws."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from billing.api.deps import SettingsDep
from billing.domain.forecast import HISTORY_DAYS, MAX_HISTORY_DAYS
from billing.use_cases.forecast_credits import balance_history, forecast_of
from tollgate_shared.auth_upstream import AccountUserDep
from tollgate_shared.money import Money, from_minor
from tollgate_shared.service import SessionDep

router = APIRouter(prefix="/api/billing", tags=["wallet"])


class ForecastRead(BaseModel):
    window_days: int = Field(description="the days of debits the forecast averages (the 30 x 24 hours before now)")
    daily_spend: Money | None = Field(description="the window's debits / its days, half-up to the paisa; null: none")
    days_left: int | None = Field(description="whole days the balance lasts at that rate; null when nothing was spent")
    runs_out_on: date | None = Field(description="today (India) plus days_left; null when nothing was spent")


class BalanceDay(BaseModel):
    date: date
    balance: Money = Field(description="the balance at the end of the day in India (so far, for today)")


class BalanceHistory(BaseModel):
    days: int
    currency: str
    balance: Money
    low_balance_threshold: Money
    points: list[BalanceDay] = Field(description="one per day, oldest first, ending today")


@router.get("/forecast")
async def get_forecast(caller: AccountUserDep, db: SessionDep) -> ForecastRead:
    """When the credits run out at the last 30 days' rate of spending (nulls when nothing was spent)."""
    found = await forecast_of(db, caller.account_id)
    return ForecastRead(
        window_days=found.window_days,
        daily_spend=None if found.daily_spend_minor is None else from_minor(found.daily_spend_minor),
        days_left=found.days_left,
        runs_out_on=found.runs_out_on,
    )


@router.get("/balance/history")
async def get_balance_history(
    caller: AccountUserDep,
    db: SessionDep,
    settings: SettingsDep,
    days: Annotated[int, Query(ge=1, le=MAX_HISTORY_DAYS)] = HISTORY_DAYS,
) -> BalanceHistory:
    """Each day's closing balance over the last `days` days (India's calendar), from the ledger."""
    held, points = await balance_history(db, caller.account_id, days=days, currency=settings.currency)
    return BalanceHistory(
        days=days,
        currency=held.currency,
        balance=from_minor(held.balance_minor),
        low_balance_threshold=from_minor(held.low_balance_threshold_minor),
        points=[BalanceDay(date=day, balance=from_minor(minor)) for day, minor in points],
    )
