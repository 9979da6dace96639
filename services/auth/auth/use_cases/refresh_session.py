"""Exchange a refresh token for new tokens; a spent one revokes its session."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.account_store import totp_policy
from auth.adapters.audit_store import record_audit
from auth.adapters.context import AuthContext
from auth.adapters.session_store import find_refresh_token, find_session
from auth.adapters.user_store import find_user
from auth.domain.audit import AuditAction
from auth.domain.errors import InvalidRefreshToken, NoRefreshToken, SessionEnded, TotpRequired
from auth.domain.login import session_needs_code
from auth.domain.records import Session, User
from auth.domain.sessions import Amr, RevocationReason, has_ended
from auth.domain.totp_grace import enrolment_required
from auth.use_cases.check_ip_access import refuse_unless_allowed
from auth.use_cases.issue_session import IssuedSession, rotate_refresh_token
from auth.use_cases.revoke_sessions import revoke_sessions


async def refresh_session(db: AsyncSession, context: AuthContext, *, presented: str | None, ip: str) -> IssuedSession:
    if not presented:
        raise NoRefreshToken()
    token = await find_refresh_token(db, presented)
    if token is None:
        raise InvalidRefreshToken()
    session = await find_session(db, token.session_id)
    assert session is not None
    if token.replaced_at is not None:
        await _revoke_stolen(db, session, ip=ip)
        raise InvalidRefreshToken()
    user = await find_user(db, session.user_id)
    if user is None or not user.active or has_ended(session, now=datetime.now(UTC)):
        raise SessionEnded()
    # The rules may have changed since the login: apply them again.
    await refuse_unless_allowed(db, user=user, ip=ip)
    if await _needs_code(db, session, user):
        await revoke_sessions(db, reason=RevocationReason.LOGOUT, session_id=session.id)
        raise TotpRequired()
    return await rotate_refresh_token(db, context, user=user, session=session, presented=presented)


async def _revoke_stolen(db: AsyncSession, session: Session, *, ip: str) -> None:
    """Someone presented a spent token: whoever holds the live one may be a thief."""
    await revoke_sessions(db, reason=RevocationReason.REFRESH_TOKEN_REUSE, session_id=session.id)
    await record_audit(
        db, action=AuditAction.REFRESH_TOKEN_REUSED, account_id=session.account_id, actor_id=session.user_id, ip=ip
    )


async def _needs_code(db: AsyncSession, session: Session, user: User) -> bool:
    # The account's policy matters only to a session without a code for a user not enrolled: no query otherwise.
    asks_policy = Amr.ONE_TIME_PASSWORD not in session.amr and not user.totp_enrolled
    policy = await totp_policy(db, user.account_id) if asks_policy else None
    enforced = policy is not None and enrolment_required(policy, user_created_at=user.created_at, now=datetime.now(UTC))
    return session_needs_code(session.amr, user, account_enforces_totp=enforced)
