"""Log in with email and password: a session, or the TOTP step to take next."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth.adapters.account_store import totp_policy
from auth.adapters.challenge_store import open_challenge
from auth.adapters.context import AuthContext
from auth.adapters.throttle_store import password_wait
from auth.adapters.user_store import find_user_by_email
from auth.domain.challenges import ChallengePurpose
from auth.domain.emails import normalised_email
from auth.domain.errors import InvalidCredentials, IpNotAllowed, TooManyAttempts
from auth.domain.login import LoginFailure, NextStep, next_step, password_refusal
from auth.domain.passwords import verify_password
from auth.domain.records import User
from auth.domain.sessions import PASSWORD_ONLY
from auth.domain.totp_grace import enrolment_due_by, enrolment_required
from auth.use_cases.check_ip_access import may_connect
from auth.use_cases.issue_session import IssuedSession
from auth.use_cases.login_attempts import count_failed_login, start_session


@dataclass(frozen=True)
class LoginOutcome:
    step: NextStep
    session: IssuedSession | None = None  # when the step is SESSION
    challenge: str | None = None  # otherwise
    totp_due_by: datetime | None = None  # a session inside the grace of enforced 2FA: enrol by then


async def log_in(
    db: AsyncSession,
    context: AuthContext,
    *,
    reader: async_sessionmaker[AsyncSession],
    email: str,
    password: str,
    ip: str,
) -> LoginOutcome:
    """`reader` makes the short session the user is read in: `db` takes a pooled connection only
    at its first statement, after the password check (decisions.md, Auth: logins and the pool)."""
    email = normalised_email(email)
    user, wait = await _who_and_whether_blocked(reader, email, ip, datetime.now(UTC))
    if wait:
        await count_failed_login(db, context, user=user, ip=ip, reason=LoginFailure.THROTTLED, email=email)
        raise TooManyAttempts(wait)
    password_ok = await verify_password(user.password_hash if user else None, password)
    refusal = password_refusal(user, password_ok=password_ok)
    if refusal is not None or user is None:
        await count_failed_login(
            db, context, user=user, ip=ip, reason=refusal or LoginFailure.INVALID_CREDENTIALS, email=email
        )
        raise InvalidCredentials()
    if not await may_connect(db, user=user, ip=ip):
        await count_failed_login(db, context, user=user, ip=ip, reason=LoginFailure.IP_NOT_ALLOWED, email=email)
        raise IpNotAllowed(ip)
    return await _next_step(db, context, user=user, ip=ip)


async def _next_step(db: AsyncSession, context: AuthContext, *, user: User, ip: str) -> LoginOutcome:
    # An enrolled user's next step does not depend on the account's policy: no query then.
    policy = None if user.totp_enrolled else await totp_policy(db, user.account_id)
    now = datetime.now(UTC)
    enforced = policy is not None and enrolment_required(policy, user_created_at=user.created_at, now=now)
    step = next_step(user, account_enforces_totp=enforced)
    if step is NextStep.SESSION:
        due = None if policy is None else enrolment_due_by(policy, user_created_at=user.created_at)
        session = await start_session(db, context, user=user, ip=ip, amr=PASSWORD_ONLY)
        return LoginOutcome(step, session=session, totp_due_by=due)
    purpose = ChallengePurpose.TOTP if step is NextStep.TOTP_REQUIRED else ChallengePurpose.TOTP_SETUP
    return LoginOutcome(step, challenge=await open_challenge(db, owner=user, purpose=purpose, now=now))


async def _who_and_whether_blocked(
    reader: async_sessionmaker[AsyncSession], email: str, ip: str, now: datetime
) -> tuple[User | None, int]:
    """The user with `email` (or None) and the seconds its attempts must still wait, in a short read of its own.

    The wait depends on the email and the address only, never on whether a user has the email.
    """
    async with reader() as reading:
        return await find_user_by_email(reading, email), await password_wait(reading, email=email, ip=ip, now=now)
