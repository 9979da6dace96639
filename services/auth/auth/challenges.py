"""Login challenges: opaque, single-user, single-purpose, 5 minutes, 5 wrong codes."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.tables import login_challenge
from auth.sessions import token_hash

LIFETIME = timedelta(minutes=5)
MAX_FAILURES = 5


async def open_challenge(db: AsyncSession, *, user_id: str, purpose: str) -> str:
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    await db.execute(
        login_challenge.insert().values(
            token_hash=token_hash(token),
            user_id=user_id,
            purpose=purpose,
            failures=0,
            expires_at=now + LIFETIME,
            created_at=now,
        )
    )
    return token


async def live_challenge(db: AsyncSession, token: str) -> Any | None:
    """The challenge row when it is usable: not used, not expired, not killed by wrong codes."""
    row = (
        await db.execute(
            select(login_challenge).where(login_challenge.c.token_hash == token_hash(token)).with_for_update()
        )
    ).first()
    if row is None or row.used_at is not None or row.failures >= MAX_FAILURES:
        return None
    return row if row.expires_at > datetime.now(UTC) else None


async def count_failure(db: AsyncSession, row: Any) -> int:
    """One more wrong code; answers how many attempts remain."""
    await db.execute(
        update(login_challenge).where(login_challenge.c.token_hash == row.token_hash).values(failures=row.failures + 1)
    )
    remaining: int = max(MAX_FAILURES - int(row.failures) - 1, 0)
    return remaining


async def spend(db: AsyncSession, row: Any) -> None:
    await db.execute(
        update(login_challenge).where(login_challenge.c.token_hash == row.token_hash).values(used_at=datetime.now(UTC))
    )


async def remember_pending_secret(db: AsyncSession, row: Any, sealed: str) -> None:
    await db.execute(
        update(login_challenge).where(login_challenge.c.token_hash == row.token_hash).values(pending_secret=sealed)
    )
