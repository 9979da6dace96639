"""Housekeeping rounds: each in a transaction of its own, a failed round does not stop the next."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from tollgate_shared.housekeeping import every


@dataclass
class FakeRuntime:
    session_factory: async_sessionmaker[AsyncSession]
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)


async def test_rounds_repeat_in_their_own_transactions_and_survive_a_failure() -> None:
    engine = create_async_engine("sqlite+aiosqlite:///:memory:")
    runtime = FakeRuntime(async_sessionmaker(engine))
    rounds: list[datetime] = []

    async def chore(db: AsyncSession, /, *, now: datetime) -> None:
        rounds.append(now)
        assert db.in_transaction()
        assert (await db.execute(text("SELECT 1"))).scalar() == 1
        if len(rounds) == 1:
            raise RuntimeError("the first round fails")

    every(runtime, 0.01, chore, name="test-chore")  # type: ignore[arg-type]
    while len(rounds) < 3:
        await asyncio.sleep(0.01)
    for task in runtime.tasks:
        task.cancel()
    await asyncio.gather(*runtime.tasks, return_exceptions=True)
    await engine.dispose()
    assert rounds == sorted(rounds) and rounds[0].tzinfo is not None
