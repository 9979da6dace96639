"""Failed logins per user and per client address, kept in the database so every replica agrees."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.tables import login_throttle
from auth.domain.throttle import delay_after

# Failures older than this are forgiven: the count starts again.
FORGET_AFTER = timedelta(hours=1)


def throttle_keys(*, user_id: str | None, ip: str) -> list[str]:
    return [f"ip:{ip}"] + ([f"user:{user_id}"] if user_id else [])


async def seconds_blocked(session: AsyncSession, keys: list[str], *, now: datetime) -> int:
    """How long attempts under any of `keys` must still wait (0: go ahead)."""
    rows = (await session.execute(select(login_throttle.c.blocked_until).where(login_throttle.c.key.in_(keys)))).all()
    waits = [
        int((row.blocked_until - now).total_seconds()) + 1
        for row in rows
        if row.blocked_until and row.blocked_until > now
    ]
    return max(waits, default=0)


async def record_failure(session: AsyncSession, keys: list[str], *, threshold: int, now: datetime) -> None:
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    for key in keys:
        row = (
            await session.execute(select(login_throttle).where(login_throttle.c.key == key).with_for_update())
        ).first()
        failures = 1 if row is None or now - row.updated_at > FORGET_AFTER else row.failures + 1
        delay = delay_after(failures, threshold=threshold)
        values = {
            "failures": failures,
            "blocked_until": now + timedelta(seconds=delay) if delay else None,
            "updated_at": now,
        }
        statement = insert(login_throttle).values(key=key, **values)
        await session.execute(statement.on_conflict_do_update(index_elements=["key"], set_=values))


async def forget_failures(session: AsyncSession, key: str) -> None:
    await session.execute(delete(login_throttle).where(login_throttle.c.key == key))
