"""Failed attempts, counted in the database so every replica agrees.

Two counts, each beside the count per client address:
- wrong passwords per email, whether or not a user has that email: an unknown
  email is throttled on the same schedule as a known one, so a throttled
  account answers exactly as an address nobody has (the key is a hash of the
  normalised email, so attackers' guesses are not stored as typed);
- wrong TOTP or recovery codes per user, across challenges and addresses.
  Only someone with the password can make them, so they never count against
  the email: the login step would otherwise show whose codes are being guessed.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.tables import login_throttle
from auth.domain.emails import normalised_email
from auth.domain.throttle import CODES, PASSWORDS, Schedule

# Failures older than this are forgiven: the count starts again.
FORGET_AFTER = timedelta(hours=1)


def _address_key(ip: str) -> str:
    return f"ip:{ip}"


def _email_key(email: str) -> str:
    return "email:" + hashlib.sha256(normalised_email(email).encode()).hexdigest()


def _codes_key(user_id: str) -> str:
    return f"totp:{user_id}"


async def password_wait(session: AsyncSession, *, email: str, ip: str, now: datetime) -> int:
    """Seconds a password attempt for `email` from `ip` must still wait (0: go ahead)."""
    return await _seconds_blocked(session, [_address_key(ip), _email_key(email)], now=now)


async def hold_code_count(session: AsyncSession, *, user_id: str, ip: str, now: datetime) -> int:
    """Seconds a TOTP or recovery code for `user_id` from `ip` must still wait (0: go ahead).

    The user's count stays locked until the transaction ends: one user's codes are
    checked one at a time, so guesses sent at once on many challenges cannot all
    pass the check before the first of them is counted.
    """
    key = _codes_key(user_id)
    await _lock(session, key, now=now)
    return await _seconds_blocked(session, [_address_key(ip), key], now=now)


async def count_password_failure(session: AsyncSession, *, email: str, ip: str, threshold: int, now: datetime) -> None:
    await _record_failure(session, [_address_key(ip), _email_key(email)], PASSWORDS, threshold=threshold, now=now)


async def count_code_failure(session: AsyncSession, *, user_id: str, ip: str, threshold: int, now: datetime) -> None:
    # The address on the password schedule, as for wrong passwords; the user on the codes' own.
    await _record_failure(session, [_address_key(ip)], PASSWORDS, threshold=threshold, now=now)
    await _record_failure(session, [_codes_key(user_id)], CODES, threshold=threshold, now=now)


async def forget_user_failures(session: AsyncSession, *, email: str, user_id: str) -> None:
    """A session was issued: the user's counts start again (their addresses' do not, or one
    valid account would unlock a spraying address)."""
    await session.execute(
        delete(login_throttle).where(login_throttle.c.key.in_([_email_key(email), _codes_key(user_id)]))
    )


async def forget_stale_failures(session: AsyncSession, *, now: datetime) -> int:
    """Delete the counts nothing remembers any more (untouched for `FORGET_AFTER`, longer
    than any block): every unknown email tried leaves one, and they would pile up."""
    result = await session.execute(delete(login_throttle).where(login_throttle.c.updated_at < now - FORGET_AFTER))
    return int(getattr(result, "rowcount", 0) or 0)


async def _seconds_blocked(session: AsyncSession, keys: list[str], *, now: datetime) -> int:
    rows = (await session.execute(select(login_throttle.c.blocked_until).where(login_throttle.c.key.in_(keys)))).all()
    waits = [
        int((row.blocked_until - now).total_seconds()) + 1
        for row in rows
        if row.blocked_until and row.blocked_until > now
    ]
    return max(waits, default=0)


async def _record_failure(
    session: AsyncSession, keys: list[str], schedule: Schedule, *, threshold: int, now: datetime
) -> None:
    for key in keys:
        row = await _lock(session, key, now=now)
        failures = 1 if now - row.updated_at > FORGET_AFTER else row.failures + 1
        delay = schedule.delay_after(failures, threshold=threshold)
        await session.execute(
            update(login_throttle)
            .where(login_throttle.c.key == key)
            .values(
                failures=failures,
                blocked_until=now + timedelta(seconds=delay) if delay else None,
                updated_at=now,
            )
        )


async def _lock(session: AsyncSession, key: str, *, now: datetime) -> Row[Any]:
    """The row of `key`, created (no failures) when missing, locked for this transaction.

    One statement: two first failures at once cannot both start from nothing, and a
    row another transaction deletes meanwhile (a success forgets the user's counts)
    is made again instead of found missing.
    """
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(login_throttle)
        .values(key=key, failures=0, blocked_until=None, updated_at=now)
        .on_conflict_do_update(index_elements=["key"], set_={"key": key})  # a no-op update that locks the row
        .returning(*login_throttle.c)
    )
    return (await session.execute(statement)).one()
