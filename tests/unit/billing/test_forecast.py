"""When the credits run out: the forecast's arithmetic in paise, and the balance day by day."""

from __future__ import annotations

from datetime import UTC, date, datetime

from billing.domain.calendar import india_today, start_of_day
from billing.domain.forecast import Forecast, closing_balances, forecast

TODAY = date(2026, 12, 5)


def test_nothing_spent_in_the_window_is_no_forecast() -> None:
    assert forecast(spent_minor=0, balance_minor=500_00, today=TODAY) == Forecast(30, None, None, None)


def test_the_balance_lasts_whole_days_at_the_windows_exact_rate() -> None:
    # 3,000.00 in 30 days is 100.00 a day: 1,050.00 lasts 10 whole days.
    assert forecast(spent_minor=3000_00, balance_minor=1050_00, today=TODAY) == Forecast(
        30, 100_00, 10, date(2026, 12, 15)
    )


def test_the_daily_spend_is_rounded_half_up_but_the_days_left_use_the_exact_rate() -> None:
    # 1,000.00 / 30 = 33.3333… a day, shown as 33.33.
    third = forecast(spent_minor=1000_00, balance_minor=99_99, today=TODAY)
    assert third.daily_spend_minor == 33_33
    assert third.days_left == 2  # 99.99 x 30 / 1,000.00 = 2.9997 days: two whole days, not 3 (99.99 / 33.33)
    half = forecast(spent_minor=45, balance_minor=0, today=TODAY)  # 1.5 paise a day: half-up to 2
    assert half.daily_spend_minor == 2
    assert forecast(spent_minor=44, balance_minor=0, today=TODAY).daily_spend_minor == 1  # 1.4666… paise


def test_an_empty_balance_runs_out_today() -> None:
    assert forecast(spent_minor=300_00, balance_minor=0, today=TODAY) == Forecast(30, 10_00, 0, TODAY)


def test_each_day_closes_at_its_last_balance_or_the_day_befores() -> None:
    closes = {date(2026, 12, 2): 700_00, date(2026, 12, 4): 0}
    assert closing_balances(opening_minor=1000_00, closes=closes, first=date(2026, 12, 1), last=TODAY) == [
        (date(2026, 12, 1), 1000_00),
        (date(2026, 12, 2), 700_00),
        (date(2026, 12, 3), 700_00),
        (date(2026, 12, 4), 0),
        (date(2026, 12, 5), 0),
    ]


def test_days_are_indias() -> None:
    assert india_today(datetime(2026, 12, 4, 18, 30, tzinfo=UTC)) == TODAY  # midnight in India
    assert start_of_day(TODAY) == datetime(2026, 12, 4, 18, 30, tzinfo=UTC)
