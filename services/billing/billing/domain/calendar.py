"""India's calendar, which billing dates things by (a transfer's "paid on", the forecast's days): IST is
UTC+05:30 all year, India keeps no summer time."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

INDIA = timezone(timedelta(hours=5, minutes=30), "IST")


def india_today(now: datetime) -> date:
    """The date in India at `now` (an aware time)."""
    return now.astimezone(INDIA).date()


def start_of_day(day: date) -> datetime:
    """The instant (UTC) at which `day` begins in India."""
    return datetime.combine(day, time(0), INDIA).astimezone(UTC)
