"""The `session` and `refresh_token` tables: sessions, and their refresh tokens stored hashed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.tables import refresh_token
from auth.adapters.tables import session as session_table
from auth.adapters.tokens import token_hash
from auth.domain.records import RefreshToken, Session, User
from auth.domain.sessions import RevocationReason


def session_of(row: Row[Any]) -> Session:
    return Session(
        id=row.id,
        user_id=row.user_id,
        account_id=row.account_id,
        amr=tuple(row.amr.split()),
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


def refresh_token_of(row: Row[Any]) -> RefreshToken:
    return RefreshToken(token_hash=row.token_hash, session_id=row.session_id, replaced_at=row.replaced_at)


async def insert_session(
    db: AsyncSession, *, session_id: str, user: User, amr: tuple[str, ...], now: datetime, expires_at: datetime
) -> None:
    await db.execute(
        session_table.insert().values(
            id=session_id,
            user_id=user.id,
            account_id=user.account_id,
            amr=" ".join(amr),
            created_at=now,
            expires_at=expires_at,
        )
    )


async def insert_refresh_token(db: AsyncSession, token: str, *, session_id: str, now: datetime) -> None:
    await db.execute(refresh_token.insert().values(token_hash=token_hash(token), session_id=session_id, created_at=now))


async def find_refresh_token(db: AsyncSession, token: str) -> RefreshToken | None:
    row = (await db.execute(select(refresh_token).where(refresh_token.c.token_hash == token_hash(token)))).first()
    return None if row is None else refresh_token_of(row)


async def mark_replaced(db: AsyncSession, token: str, *, now: datetime) -> None:
    await db.execute(
        update(refresh_token).where(refresh_token.c.token_hash == token_hash(token)).values(replaced_at=now)
    )


async def find_session(db: AsyncSession, session_id: str) -> Session | None:
    row = (await db.execute(select(session_table).where(session_table.c.id == session_id))).first()
    return None if row is None else session_of(row)


async def live_sessions(
    db: AsyncSession, *, session_id: str | None = None, user_id: str | None = None
) -> list[Session]:
    """One session or a user's sessions, those not revoked."""
    query = select(session_table).where(session_table.c.revoked_at.is_(None))
    if session_id is not None:
        query = query.where(session_table.c.id == session_id)
    if user_id is not None:
        query = query.where(session_table.c.user_id == user_id)
    return [session_of(row) for row in (await db.execute(query)).all()]


async def mark_revoked(db: AsyncSession, session_id: str, *, reason: RevocationReason, now: datetime) -> None:
    await db.execute(
        update(session_table)
        .where(session_table.c.id == session_id)
        .values(revoked_at=now, revoked_reason=reason.value)
    )


async def revoked_since(db: AsyncSession, since: datetime) -> list[str]:
    """The ids of the sessions revoked at or after `since`."""
    rows = (await db.execute(select(session_table.c.id).where(session_table.c.revoked_at >= since))).all()
    return [row.id for row in rows]
