"""Revoking sessions: logout, deactivation, a reused refresh token, a 2FA reset."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.session_store import live_sessions, mark_revoked
from auth.domain.sessions import RevocationReason
from tollgate_shared.events.models import SessionRevoked
from tollgate_shared.outbox import record_event


async def revoke_sessions(
    db: AsyncSession, *, reason: RevocationReason, session_id: str | None = None, user_id: str | None = None
) -> int:
    """Revoke one session or every live session of a user, and tell every gateway."""
    now = datetime.now(UTC)
    sessions = await live_sessions(db, session_id=session_id, user_id=user_id)
    for session in sessions:
        await mark_revoked(db, session.id, reason=reason, now=now)
        await record_event(
            db,
            SessionRevoked(session_id=session.id, user_id=session.user_id, reason=reason.value),
            account_id=session.account_id,
        )
    return len(sessions)
