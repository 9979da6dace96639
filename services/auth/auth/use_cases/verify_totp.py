"""Answer a login challenge with a TOTP code or a recovery code (or confirm enrolment): a session."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.challenge_store import spend_challenge
from auth.adapters.context import AuthContext
from auth.adapters.recovery_code_store import use_recovery_code
from auth.adapters.throttle_store import hold_code_count
from auth.adapters.user_store import claim_totp_step
from auth.domain import recovery_codes, totp
from auth.domain.challenges import ChallengePurpose
from auth.domain.errors import TooManyAttempts
from auth.domain.login import LoginFailure
from auth.domain.records import Challenge, User
from auth.domain.sessions import PASSWORD_AND_CODE
from auth.use_cases.check_ip_access import refuse_unless_allowed
from auth.use_cases.enrol_totp import confirm_enrolment
from auth.use_cases.find_live_challenge import find_live_challenge
from auth.use_cases.issue_session import IssuedSession
from auth.use_cases.login_attempts import count_failed_login, refuse_code, start_session


@dataclass(frozen=True)
class VerifiedLogin:
    session: IssuedSession
    recovery_codes: list[str] | None = None  # shown once, at enrolment


async def verify_totp(db: AsyncSession, context: AuthContext, *, challenge: str, code: str, ip: str) -> VerifiedLogin:
    found, owner = await find_live_challenge(db, challenge)
    # Wrong codes are counted per user across challenges and addresses; while they
    # block, no code is looked at and the challenge keeps its attempts.
    wait = await hold_code_count(db, user_id=owner.id, ip=ip, now=datetime.now(UTC))
    if wait:
        await count_failed_login(db, context, user=owner, ip=ip, reason=LoginFailure.THROTTLED)
        raise TooManyAttempts(wait)
    await refuse_unless_allowed(db, user=owner, ip=ip)
    if found.purpose == ChallengePurpose.TOTP_SETUP:
        session, codes = await confirm_enrolment(db, context, challenge=found, owner=owner, code=code, ip=ip)
        return VerifiedLogin(session, recovery_codes=codes)
    if not await _accepts(db, context, challenge=found, owner=owner, code=code):
        await refuse_code(db, context, challenge=found, owner=owner, ip=ip)
    await spend_challenge(db, found, now=datetime.now(UTC))
    return VerifiedLogin(await start_session(db, context, user=owner, ip=ip, amr=PASSWORD_AND_CODE))


async def _accepts(db: AsyncSession, context: AuthContext, *, challenge: Challenge, owner: User, code: str) -> bool:
    """A current TOTP code newer than the last one used, or an unused recovery code."""
    if recovery_codes.looks_like_recovery_code(code):
        digest = recovery_codes.hash_code(code, key=context.recovery_code_key)
        return await use_recovery_code(db, owner.id, digest, now=datetime.now(UTC))
    assert owner.totp_secret is not None  # the challenge speaks for an enrolled user
    secret = context.box.open(owner.totp_secret, context=owner.id.encode()).decode()
    step = totp.matching_step(secret, code, now=time.time(), last_step=owner.totp_last_step)
    if step is None:
        return False
    return await claim_totp_step(db, owner, generation=challenge.totp_generation, step=step)
