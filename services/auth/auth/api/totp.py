"""The TOTP steps of login: enrolment (setup, then verify) and the code at every login."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.qr import qr_svg
from auth.adapters.tables import recovery_code, user
from auth.api.deps import current_caller
from auth.api.login import WRONG_CODE, login_failed, login_succeeded, too_many_attempts
from auth.api.schemas import SessionAnswer, TotpSetupAnswer, TotpSetupRequest, TotpVerifyRequest
from auth.audit import record_audit
from auth.challenges import (
    challenge_owner,
    count_failure,
    live_challenge,
    open_challenge,
    remember_pending_secret,
    spend,
)
from auth.context import AuthContext, ContextDep
from auth.domain import recovery_codes, totp
from auth.ip_access import may_connect
from auth.throttling import hold_code_count
from tollgate_shared.errors import problem_response
from tollgate_shared.events.models import TotpEnrolled
from tollgate_shared.openapi import CREDENTIALS_OPTIONAL, PUBLIC, problems
from tollgate_shared.outbox import record_event
from tollgate_shared.service import EdgeDep, SessionDep

router = APIRouter(prefix="/api/auth/totp", tags=["totp"])


def invalid_challenge() -> JSONResponse:
    return problem_response(401, "invalid_challenge", "The challenge is invalid, expired or used up", "Log in again.")


@router.post(
    "/setup", response_model=TotpSetupAnswer, openapi_extra=CREDENTIALS_OPTIONAL, responses=problems(401, 409, 429)
)
async def setup(body: TotpSetupRequest, request: Request, db: SessionDep, context: ContextDep) -> Any:
    """Start enrolment: the seed, its otpauth URI and the QR code to scan.

    With a `totp_setup_required` challenge from login; or, without one, by a
    logged-in user enrolling voluntarily (the answer carries the challenge to verify with).
    """
    challenge = body.challenge
    if challenge is None:
        caller = await current_caller(request, db)
        if caller.user.totp_secret is not None:
            return problem_response(409, "totp_already_enrolled", "TOTP is already enrolled")
        challenge = await open_challenge(db, owner=caller.user, purpose="totp_setup")
    row = await live_challenge(db, challenge)
    if row is None or row.purpose != "totp_setup":
        return invalid_challenge()
    owner = await challenge_owner(db, row)
    if owner is None:  # enrolled (or reset) since the challenge was opened
        return invalid_challenge()
    context_bytes = row.token_hash.encode()
    if row.pending_secret is not None:  # asking again shows the same code to scan
        secret = context.box.open(row.pending_secret, context=context_bytes).decode()
    else:
        secret = totp.new_secret()
        await remember_pending_secret(db, row, context.box.seal(secret.encode(), context=context_bytes))
    uri = totp.otpauth_uri(secret, email=owner.email, issuer=context.settings.totp_issuer)
    return TotpSetupAnswer(challenge=challenge, secret=secret, otpauth_uri=uri, qr_svg=qr_svg(uri))


@router.post("/verify", response_model=SessionAnswer, openapi_extra=PUBLIC, responses=problems(401, 403, 409, 429))
async def verify(
    body: TotpVerifyRequest, response: Response, db: SessionDep, context: ContextDep, edge: EdgeDep
) -> Any:
    """Answer the challenge with a code (or a recovery code); a session on success."""
    row = await live_challenge(db, body.challenge)
    if row is None:
        return invalid_challenge()
    owner = await challenge_owner(db, row)
    if owner is None:
        return invalid_challenge()
    # Wrong codes are counted per user across challenges and addresses; while they
    # block, no code is looked at and the challenge keeps its attempts.
    wait = await hold_code_count(db, user_id=owner.id, ip=edge.client_ip, now=datetime.now(UTC))
    if wait:
        await login_failed(db, context, user_row=owner, ip=edge.client_ip, reason="throttled")
        return too_many_attempts(wait)
    if not await may_connect(db, user=owner, ip=edge.client_ip):
        return problem_response(403, "ip_not_allowed", "Access from this address is not allowed", ip=edge.client_ip)
    if row.purpose == "totp_setup":
        return await _confirm_enrolment(db, context, response, row=row, owner=owner, code=body.code, ip=edge.client_ip)
    accepted = await _check_code(db, context, row=row, owner=owner, code=body.code)
    if not accepted:
        return await _wrong_code(db, context, row=row, owner=owner, ip=edge.client_ip)
    await spend(db, row)
    issued = await login_succeeded(db, context, response, user_row=owner, ip=edge.client_ip, amr=["pwd", "otp"])
    return SessionAnswer(**issued.answer())


async def _check_code(db: AsyncSession, context: AuthContext, *, row: Any, owner: Any, code: str) -> bool:
    """A current TOTP code newer than the last one used, or an unused recovery code."""
    if recovery_codes.looks_like_recovery_code(code):
        digest = recovery_codes.hash_code(code, key=context.recovery_code_key)
        used = await db.execute(
            update(recovery_code)
            .where(
                recovery_code.c.user_id == owner.id,
                recovery_code.c.code_hash == digest,
                recovery_code.c.used_at.is_(None),
            )
            .values(used_at=datetime.now(UTC))
        )
        return bool(used.rowcount)  # type: ignore[attr-defined]
    secret = context.box.open(owner.totp_secret, context=owner.id.encode()).decode()
    step = totp.matching_step(secret, code, now=time.time(), last_step=owner.totp_last_step)
    if step is None:
        return False
    # Conditional on the step we read: two concurrent uses of one code cannot both win;
    # and on the generation: a reset committed meanwhile voids the secret we checked.
    claimed = await db.execute(
        update(user)
        .where(
            user.c.id == owner.id,
            user.c.totp_generation == row.totp_generation,
            (user.c.totp_last_step.is_(None)) | (user.c.totp_last_step < step),
        )
        .values(totp_last_step=step)
    )
    return bool(claimed.rowcount)  # type: ignore[attr-defined]


async def _wrong_code(db: AsyncSession, context: AuthContext, *, row: Any, owner: Any, ip: str) -> JSONResponse:
    remaining = await count_failure(db, row)
    await login_failed(db, context, user_row=owner, ip=ip, reason=WRONG_CODE)
    return problem_response(
        401,
        "invalid_code",
        "Wrong, expired or already used code",
        attempts_left=remaining,
        challenge_alive=remaining > 0,
    )


async def _confirm_enrolment(
    db: AsyncSession, context: AuthContext, response: Response, *, row: Any, owner: Any, code: str, ip: str
) -> Any:
    if row.pending_secret is None:
        return problem_response(409, "setup_not_started", "Call /api/auth/totp/setup with this challenge first")
    secret = context.box.open(row.pending_secret, context=row.token_hash.encode()).decode()
    step = totp.matching_step(secret, code, now=time.time(), last_step=None)
    if step is None:
        return await _wrong_code(db, context, row=row, owner=owner, ip=ip)
    now = datetime.now(UTC)
    # Only from the generation the challenge was opened under, and only while not enrolled:
    # of two challenges confirmed at once, the second waits for the first and changes nothing.
    # Advancing the generation voids every other open challenge of the user.
    enrolled = await db.execute(
        update(user)
        .where(user.c.id == owner.id, user.c.totp_generation == row.totp_generation, user.c.totp_secret.is_(None))
        .values(
            totp_secret=context.box.seal(secret.encode(), context=owner.id.encode()),
            totp_last_step=step,
            totp_enrolled_at=now,
            totp_generation=user.c.totp_generation + 1,
        )
    )
    if not enrolled.rowcount:  # type: ignore[attr-defined]
        return invalid_challenge()
    codes = recovery_codes.new_codes()
    await db.execute(delete(recovery_code).where(recovery_code.c.user_id == owner.id))
    await db.execute(
        recovery_code.insert(),
        [
            {
                "id": str(uuid.uuid4()),
                "user_id": owner.id,
                "code_hash": recovery_codes.hash_code(c, key=context.recovery_code_key),
                "created_at": now,
            }
            for c in codes
        ],
    )
    await spend(db, row)
    await record_audit(
        db, action="totp.enrolled", account_id=owner.account_id, actor_id=owner.id, actor_email=owner.email, ip=ip
    )
    await record_event(db, TotpEnrolled(user_id=owner.id), account_id=owner.account_id)
    issued = await login_succeeded(db, context, response, user_row=owner, ip=ip, amr=["pwd", "otp"])
    return SessionAnswer(**issued.answer(), recovery_codes=codes)
