"""Confirm TOTP enrolment with the first code: the seed is stored, recovery codes are issued."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.audit_store import record_audit
from auth.adapters.challenge_store import spend_challenge
from auth.adapters.context import AuthContext
from auth.adapters.recovery_code_store import replace_recovery_codes
from auth.adapters.user_store import enrol_totp
from auth.domain import recovery_codes, totp
from auth.domain.audit import AuditAction
from auth.domain.errors import InvalidChallenge, SetupNotStarted
from auth.domain.records import Challenge, User
from auth.domain.sessions import PASSWORD_AND_CODE
from auth.use_cases.issue_session import IssuedSession
from auth.use_cases.login_attempts import refuse_code, start_session
from tollgate_shared.events.models import TotpEnrolled
from tollgate_shared.outbox import record_event


async def confirm_enrolment(
    db: AsyncSession, context: AuthContext, *, challenge: Challenge, owner: User, code: str, ip: str
) -> tuple[IssuedSession, list[str]]:
    """A session and the new recovery codes (shown once)."""
    if challenge.pending_secret is None:
        raise SetupNotStarted()
    secret = context.box.open(challenge.pending_secret, context=challenge.token_hash.encode()).decode()
    step = totp.matching_step(secret, code, now=time.time(), last_step=None)
    if step is None:
        await refuse_code(db, context, challenge=challenge, owner=owner, ip=ip)
    now = datetime.now(UTC)
    sealed = context.box.seal(secret.encode(), context=owner.id.encode())
    if not await enrol_totp(db, owner, generation=challenge.totp_generation, sealed_secret=sealed, step=step, now=now):
        raise InvalidChallenge()  # another challenge of the user enrolled first
    codes = recovery_codes.new_codes()
    hashes = [recovery_codes.hash_code(code, key=context.recovery_code_key) for code in codes]
    await replace_recovery_codes(db, owner.id, hashes, now=now)
    await spend_challenge(db, challenge, now=now)
    await record_audit(
        db,
        action=AuditAction.TOTP_ENROLLED,
        account_id=owner.account_id,
        actor_id=owner.id,
        actor_email=owner.email,
        ip=ip,
    )
    await record_event(db, TotpEnrolled(user_id=owner.id), account_id=owner.account_id)
    return await start_session(db, context, user=owner, ip=ip, amr=PASSWORD_AND_CODE), codes
