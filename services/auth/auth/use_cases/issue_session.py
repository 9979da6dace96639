"""Sessions: access tokens (15 min JWT) and rotating refresh tokens (stored hashed)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.context import AuthContext
from auth.adapters.session_store import insert_refresh_token, insert_session, mark_replaced
from auth.adapters.tokens import new_token
from auth.domain.records import Session, User
from tollgate_shared.access_tokens import AUDIENCE, ISSUER


@dataclass(frozen=True)
class IssuedSession:
    session_id: str
    access_token: str
    refresh_token: str
    expires_in: int  # seconds the access token lives


async def issue_session(db: AsyncSession, context: AuthContext, *, user: User, amr: tuple[str, ...]) -> IssuedSession:
    now = datetime.now(UTC)
    session_id = str(uuid.uuid4())
    expires_at = now + timedelta(days=context.settings.refresh_token_days)
    await insert_session(db, session_id=session_id, user=user, amr=amr, now=now, expires_at=expires_at)
    return await _tokens(db, context, user=user, session_id=session_id, amr=amr, now=now)


async def rotate_refresh_token(
    db: AsyncSession, context: AuthContext, *, user: User, session: Session, presented: str
) -> IssuedSession:
    """Exchange a current refresh token for a new pair; the old one is spent."""
    now = datetime.now(UTC)
    await mark_replaced(db, presented, now=now)
    return await _tokens(db, context, user=user, session_id=session.id, amr=session.amr, now=now)


async def _tokens(
    db: AsyncSession, context: AuthContext, *, user: User, session_id: str, amr: tuple[str, ...], now: datetime
) -> IssuedSession:
    refresh_token = new_token()
    await insert_refresh_token(db, refresh_token, session_id=session_id, now=now)
    return IssuedSession(
        session_id=session_id,
        access_token=_access_token(context, user=user, session_id=session_id, amr=amr, now=now),
        refresh_token=refresh_token,
        expires_in=context.settings.access_token_minutes * 60,
    )


def _access_token(context: AuthContext, *, user: User, session_id: str, amr: tuple[str, ...], now: datetime) -> str:
    lifetime = timedelta(minutes=context.settings.access_token_minutes)
    return context.keys.sign(
        {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": user.id,
            "acc": user.account_id,
            "roles": [user.role.value],
            "sid": session_id,
            "amr": [str(method) for method in amr],
            "iat": int(now.timestamp()),
            "exp": int((now + lifetime).timestamp()),
            "jti": uuid.uuid4().hex,
        }
    )
