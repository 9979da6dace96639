"""What every login attempt leaves, failed or not: throttle counts, the audit log, events, metrics."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NoReturn

from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.audit_store import record_audit
from auth.adapters.challenge_store import count_challenge_failure
from auth.adapters.context import AuthContext
from auth.adapters.throttle_store import count_code_failure, count_password_failure, forget_user_failures
from auth.domain.audit import AuditAction
from auth.domain.challenges import attempts_left_after_failure
from auth.domain.errors import InvalidCode
from auth.domain.login import LoginFailure
from auth.domain.records import Challenge, User
from auth.use_cases.issue_session import IssuedSession, issue_session
from tollgate_shared.events.models import LoginFailed, LoginSucceeded
from tollgate_shared.metrics.catalogue import LOGINS
from tollgate_shared.metrics.counting import count_after_commit
from tollgate_shared.outbox import record_event


async def count_failed_login(
    db: AsyncSession,
    context: AuthContext,
    *,
    user: User | None,
    ip: str,
    reason: LoginFailure,
    email: str | None = None,
) -> None:
    """Count, audit and publish a failed attempt (the caller then raises the refusal).

    A wrong code counts against the user's codes; anything else the login step refused
    counts against the email as typed (known or not) and the address; a throttled
    attempt counts nowhere.
    """
    await _count_against(db, context, user=user, ip=ip, reason=reason, email=email)
    account_id = user.account_id if user else None
    count_after_commit(db, LOGINS.labels("auth", reason.value))  # a fixed set of reasons: never an id
    await record_audit(
        db,
        action=AuditAction.LOGIN_FAILED,
        account_id=account_id,
        actor_id=user.id if user else None,
        actor_email=user.email if user else email,
        ip=ip,
        details={"reason": reason.value},
    )
    await record_event(
        db, LoginFailed(user_id=user.id if user else None, ip=ip, reason=reason.value), account_id=account_id
    )


async def _count_against(
    db: AsyncSession, context: AuthContext, *, user: User | None, ip: str, reason: LoginFailure, email: str | None
) -> None:
    now = datetime.now(UTC)
    threshold = context.settings.login_failures_before_delay
    if reason == LoginFailure.WRONG_CODE:
        assert user is not None
        await count_code_failure(db, user_id=user.id, ip=ip, threshold=threshold, now=now)
    elif reason != LoginFailure.THROTTLED:
        assert email is not None, "the login step names the email it refused"
        await count_password_failure(db, email=email, ip=ip, threshold=threshold, now=now)


async def refuse_code(
    db: AsyncSession, context: AuthContext, *, challenge: Challenge, owner: User, ip: str
) -> NoReturn:
    """A wrong code: the challenge has one attempt fewer, the failure is counted."""
    await count_challenge_failure(db, challenge)
    await count_failed_login(db, context, user=owner, ip=ip, reason=LoginFailure.WRONG_CODE)
    raise InvalidCode(attempts_left=attempts_left_after_failure(challenge))


async def start_session(
    db: AsyncSession, context: AuthContext, *, user: User, ip: str, amr: tuple[str, ...]
) -> IssuedSession:
    """A successful login: a session, the user's failure counts forgotten, audited and published."""
    issued = await issue_session(db, context, user=user, amr=amr)
    await forget_user_failures(db, email=user.email, user_id=user.id)
    count_after_commit(db, LOGINS.labels("auth", "succeeded"))
    await record_audit(
        db,
        action=AuditAction.LOGIN_SUCCEEDED,
        account_id=user.account_id,
        actor_id=user.id,
        actor_email=user.email,
        ip=ip,
    )
    await record_event(
        db, LoginSucceeded(user_id=user.id, ip=ip, amr=[str(method) for method in amr]), account_id=user.account_id
    )
    return issued
