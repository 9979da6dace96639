"""The `login_challenge` table: challenges, stored as the SHA-256 of what the client holds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.tables import login_challenge
from auth.adapters.tokens import new_token, token_hash
from auth.domain.challenges import LIFETIME, ChallengePurpose
from auth.domain.records import Challenge, User


def challenge_of(row: Row[Any]) -> Challenge:
    return Challenge(
        token_hash=row.token_hash,
        user_id=row.user_id,
        purpose=ChallengePurpose(row.purpose),
        pending_secret=row.pending_secret,
        failures=int(row.failures),
        totp_generation=int(row.totp_generation),
        expires_at=row.expires_at,
        used_at=row.used_at,
    )


async def open_challenge(db: AsyncSession, *, owner: User, purpose: ChallengePurpose, now: datetime) -> str:
    """A new challenge for `owner`, bound to their current TOTP generation: the token to hand out."""
    token = new_token()
    await db.execute(
        login_challenge.insert().values(
            token_hash=token_hash(token),
            user_id=owner.id,
            purpose=purpose.value,
            totp_generation=owner.totp_generation,
            failures=0,
            expires_at=now + LIFETIME,
            created_at=now,
        )
    )
    return token


async def lock_challenge(db: AsyncSession, token: str) -> Challenge | None:
    """The challenge `token` names, locked until the transaction ends."""
    query = select(login_challenge).where(login_challenge.c.token_hash == token_hash(token)).with_for_update()
    row = (await db.execute(query)).first()
    return None if row is None else challenge_of(row)


async def count_challenge_failure(db: AsyncSession, challenge: Challenge) -> None:
    await _set(db, challenge, failures=challenge.failures + 1)


async def spend_challenge(db: AsyncSession, challenge: Challenge, *, now: datetime) -> None:
    await _set(db, challenge, used_at=now)


async def remember_pending_secret(db: AsyncSession, challenge: Challenge, sealed: str) -> None:
    await _set(db, challenge, pending_secret=sealed)


async def _set(db: AsyncSession, challenge: Challenge, **values: object) -> None:
    await db.execute(
        update(login_challenge).where(login_challenge.c.token_hash == challenge.token_hash).values(**values)
    )
