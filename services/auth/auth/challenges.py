"""Login challenges: opaque, single-user, single-purpose, 5 minutes, 5 wrong codes.

A challenge is opened under the user's TOTP generation, which every enrolment
and reset advances: a challenge opened before either is void, so a stale setup
challenge cannot replace a secret enrolled since, nor a stale code challenge be
answered with a secret enrolled since.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.tables import login_challenge, user
from auth.sessions import token_hash

LIFETIME = timedelta(minutes=5)
MAX_FAILURES = 5


async def open_challenge(db: AsyncSession, *, owner: Any, purpose: str) -> str:
    """A new challenge for `owner` (a user row), bound to their current TOTP generation."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    await db.execute(
        login_challenge.insert().values(
            token_hash=token_hash(token),
            user_id=owner.id,
            purpose=purpose,
            totp_generation=owner.totp_generation,
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


def speaks_for(challenge: Any, owner: Any) -> bool:
    """Whether `challenge` still applies to its owner as they are now: active, same TOTP
    generation, and a code challenge for an enrolled user or a setup challenge for one who is not."""
    if not owner.active or challenge.totp_generation != owner.totp_generation:
        return False
    enrolled = owner.totp_secret is not None
    return enrolled if challenge.purpose == "totp" else not enrolled


async def challenge_owner(db: AsyncSession, challenge: Any) -> Any | None:
    """The owner of a live challenge, or None when the challenge no longer speaks for them."""
    owner = (await db.execute(select(user).where(user.c.id == challenge.user_id))).first()
    return owner if owner is not None and speaks_for(challenge, owner) else None


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
