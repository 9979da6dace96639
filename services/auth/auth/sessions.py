"""Sessions: access tokens (15 min JWT) and rotating refresh tokens (stored hashed)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.tables import refresh_token
from auth.adapters.tables import session as session_table
from auth.context import AuthContext
from tollgate_shared.access_tokens import AUDIENCE, ISSUER
from tollgate_shared.events.models import SessionRevoked
from tollgate_shared.outbox import record_event


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedSession:
    session_id: str
    access_token: str
    refresh_token: str
    expires_in: int

    def answer(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
        }


def access_token(context: AuthContext, *, user: Any, session_id: str, amr: list[str], now: datetime) -> str:
    lifetime = timedelta(minutes=context.settings.access_token_minutes)
    return context.keys.sign(
        {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": user.id,
            "acc": user.account_id,
            "roles": [user.role],
            "sid": session_id,
            "amr": amr,
            "iat": int(now.timestamp()),
            "exp": int((now + lifetime).timestamp()),
            "jti": uuid.uuid4().hex,
        }
    )


async def _new_refresh_token(db: AsyncSession, session_id: str, now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    await db.execute(refresh_token.insert().values(token_hash=token_hash(token), session_id=session_id, created_at=now))
    return token


async def issue_session(db: AsyncSession, context: AuthContext, *, user: Any, amr: list[str]) -> IssuedSession:
    now = datetime.now(UTC)
    session_id = str(uuid.uuid4())
    await db.execute(
        session_table.insert().values(
            id=session_id,
            user_id=user.id,
            account_id=user.account_id,
            amr=" ".join(amr),
            created_at=now,
            expires_at=now + timedelta(days=context.settings.refresh_token_days),
        )
    )
    return IssuedSession(
        session_id=session_id,
        access_token=access_token(context, user=user, session_id=session_id, amr=amr, now=now),
        refresh_token=await _new_refresh_token(db, session_id, now),
        expires_in=context.settings.access_token_minutes * 60,
    )


async def rotate_refresh_token(
    db: AsyncSession, context: AuthContext, *, user: Any, session: Any, presented: str
) -> IssuedSession:
    """Exchange a current refresh token for a new pair; the old one is spent."""
    now = datetime.now(UTC)
    await db.execute(
        update(refresh_token).where(refresh_token.c.token_hash == token_hash(presented)).values(replaced_at=now)
    )
    amr = session.amr.split()
    return IssuedSession(
        session_id=session.id,
        access_token=access_token(context, user=user, session_id=session.id, amr=amr, now=now),
        refresh_token=await _new_refresh_token(db, session.id, now),
        expires_in=context.settings.access_token_minutes * 60,
    )


async def revoke_sessions(
    db: AsyncSession, *, reason: str, session_id: str | None = None, user_id: str | None = None
) -> int:
    """Revoke one session or every live session of a user, and tell every gateway."""
    now = datetime.now(UTC)
    query = select(session_table.c.id, session_table.c.user_id, session_table.c.account_id).where(
        session_table.c.revoked_at.is_(None)
    )
    if session_id is not None:
        query = query.where(session_table.c.id == session_id)
    if user_id is not None:
        query = query.where(session_table.c.user_id == user_id)
    rows = (await db.execute(query)).all()
    for row in rows:
        await db.execute(
            update(session_table).where(session_table.c.id == row.id).values(revoked_at=now, revoked_reason=reason)
        )
        await record_event(
            db, SessionRevoked(session_id=row.id, user_id=row.user_id, reason=reason), account_id=row.account_id
        )
    return len(rows)
