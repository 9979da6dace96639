"""Types of the public contract's bodies where pydantic's defaults are too lenient or too vague."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict


class RequestBody(BaseModel):
    """A JSON request body: an unknown field is refused, and no value is guessed from another JSON type.

    Strict: `"2"`, `true` and `2495.0` are not an integer, `0` and `"true"` not
    a boolean. Every request body (and each model inside one) derives from it;
    `tests/unit/test_request_bodies.py` holds every service's routes to that.
    """

    model_config = ConfigDict(extra="forbid", strict=True)


def _in_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


Timestamp = Annotated[AwareDatetime, AfterValidator(_in_utc)]
"""An instant in an answer or an event: RFC 3339 in UTC, `…Z` (DESIGN §10); a time without an offset is refused."""

_YEAR_MONTH_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _calendar_date(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _YEAR_MONTH_DAY.match(value):
        raise ValueError("must be a date written YYYY-MM-DD")
    return date.fromisoformat(value)  # an impossible date (2026-02-30) is a ValueError too


CalendarDate = Annotated[date, BeforeValidator(_calendar_date)]
"""A day, `YYYY-MM-DD` and nothing else (lax pydantic read `0` as 1970-01-01 and took a time of day)."""


def _a_boolean(value: Any) -> Any:
    if not isinstance(value, bool):
        raise ValueError("must be a JSON boolean")
    return value


OnlyFalse = Annotated[Literal[False], BeforeValidator(_a_boolean)]
"""`false` and nothing else: a `Literal[False]` alone takes `0`, even in strict mode."""
