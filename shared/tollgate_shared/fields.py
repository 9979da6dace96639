"""Field types of the public contract that pydantic's defaults get wrong for us."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime


def _in_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


Timestamp = Annotated[AwareDatetime, AfterValidator(_in_utc)]
"""An instant in an answer or an event: RFC 3339 in UTC, `…Z` (DESIGN §10); a time without an offset is refused."""
