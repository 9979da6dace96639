"""The challenge a client answers, and its owner, while the challenge still speaks for them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.challenge_store import lock_challenge
from auth.adapters.user_store import find_user
from auth.domain.challenges import is_live, speaks_for
from auth.domain.errors import InvalidChallenge
from auth.domain.records import Challenge, User


async def find_live_challenge(db: AsyncSession, token: str) -> tuple[Challenge, User]:
    """The challenge (locked until commit) and its owner; refused when it is used, expired,
    killed by wrong codes, or void for its owner as they are now (enrolled or reset since)."""
    challenge = await lock_challenge(db, token)
    if challenge is None or not is_live(challenge, now=datetime.now(UTC)):
        raise InvalidChallenge()
    owner = await find_user(db, challenge.user_id)
    if owner is None or not speaks_for(challenge, owner):
        raise InvalidChallenge()
    return challenge, owner
