"""Housekeeping a service does every few minutes in a transaction of its own (purging what expired).

Each replica runs it; the work must be idempotent. A failed round is logged
and the next one tries again: housekeeping never stops a service.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from tollgate_shared.service import Runtime

log = logging.getLogger(__name__)


class Chore(Protocol):
    async def __call__(self, db: AsyncSession, /, *, now: datetime) -> object: ...


def every(runtime: Runtime, seconds: float, chore: Chore, *, name: str) -> None:
    """Run `chore(db, now=…)` every `seconds` in its own transaction, for as long as `runtime` runs."""
    runtime.tasks.append(asyncio.create_task(_repeat(runtime, seconds, chore, name), name=name))


async def _repeat(runtime: Runtime, seconds: float, chore: Chore, name: str) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            async with runtime.session_factory() as db, db.begin():
                await chore(db, now=datetime.now(UTC))
        except Exception:
            log.exception("%s failed; the next round tries again", name)
