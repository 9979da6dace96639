"""Login: password, then the TOTP step or TOTP enrolment; refresh, logout, me."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.tables import account, refresh_token, user
from auth.adapters.tables import session as session_table
from auth.api.cookies import REFRESH_COOKIE, clear_session_cookies, set_session_cookies
from auth.api.deps import CallerDep
from auth.api.schemas import ChallengeAnswer, LoginRequest, Me, RefreshRequest, SessionAnswer
from auth.audit import record_audit
from auth.challenges import open_challenge
from auth.context import AuthContext, ContextDep
from auth.domain.emails import normalised_email
from auth.domain.passwords import verify_password
from auth.ip_access import may_connect
from auth.sessions import IssuedSession, issue_session, revoke_sessions, rotate_refresh_token, token_hash
from auth.throttling import (
    count_code_failure,
    count_password_failure,
    forget_user_failures,
    password_wait,
)
from tollgate_shared.errors import problem_response
from tollgate_shared.events.models import LoginFailed, LoginSucceeded
from tollgate_shared.metrics.catalogue import LOGINS
from tollgate_shared.metrics.counting import count_after_commit
from tollgate_shared.openapi import PUBLIC, problems
from tollgate_shared.outbox import record_event
from tollgate_shared.service import EdgeDep, Runtime, RuntimeDep, SessionDep

router = APIRouter(prefix="/api/auth", tags=["login"])
WRONG_CODE = "wrong_totp_code"  # the failure reason of a wrong TOTP or recovery code


async def login_failed(
    db: AsyncSession, context: AuthContext, *, user_row: Any | None, ip: str, reason: str, email: str | None = None
) -> None:
    """Count, audit and publish a failed attempt (the caller then answers the problem).

    A wrong code counts against the user's codes; anything else the login step refused
    counts against the email as typed (known or not) and the address; a throttled
    attempt counts nowhere.
    """
    now = datetime.now(UTC)
    threshold = context.settings.login_failures_before_delay
    if reason == WRONG_CODE:
        assert user_row is not None
        await count_code_failure(db, user_id=user_row.id, ip=ip, threshold=threshold, now=now)
    elif reason != "throttled":
        assert email is not None, "the login step names the email it refused"
        await count_password_failure(db, email=email, ip=ip, threshold=threshold, now=now)
    account_id = user_row.account_id if user_row else None
    count_after_commit(db, LOGINS.labels("auth", reason))  # a fixed set of reasons: never an id
    await record_audit(
        db,
        action="login.failed",
        account_id=account_id,
        actor_id=user_row.id if user_row else None,
        actor_email=user_row.email if user_row else email,
        ip=ip,
        details={"reason": reason},
    )
    await record_event(
        db, LoginFailed(user_id=user_row.id if user_row else None, ip=ip, reason=reason), account_id=account_id
    )


async def login_succeeded(
    db: AsyncSession, context: AuthContext, response: Response, *, user_row: Any, ip: str, amr: list[str]
) -> IssuedSession:
    issued = await issue_session(db, context, user=user_row, amr=amr)
    await forget_user_failures(db, email=user_row.email, user_id=user_row.id)
    count_after_commit(db, LOGINS.labels("auth", "succeeded"))
    await record_audit(
        db,
        action="login.succeeded",
        account_id=user_row.account_id,
        actor_id=user_row.id,
        actor_email=user_row.email,
        ip=ip,
    )
    await record_event(db, LoginSucceeded(user_id=user_row.id, ip=ip, amr=amr), account_id=user_row.account_id)
    set_session_cookies(response, context, issued)
    return issued


def too_many_attempts(wait: int) -> JSONResponse:
    return problem_response(
        429,
        "too_many_attempts",
        "Too many attempts",
        f"Try again in {wait} second{'' if wait == 1 else 's'}.",
        headers={"Retry-After": str(wait)},
    )


def ip_not_allowed(ip: str) -> JSONResponse:
    return problem_response(403, "ip_not_allowed", "Access from this address is not allowed", ip=ip)


async def must_enrol_totp(db: AsyncSession, user_row: Any) -> bool:
    """Staff always; account users while their account enforces it."""
    if user_row.account_id is None:
        return True
    enforce = await db.scalar(select(account.c.enforce_totp).where(account.c.id == user_row.account_id))
    return bool(enforce)


async def _who_and_whether_blocked(runtime: Runtime, email: str, ip: str, now: datetime) -> tuple[Any | None, int]:
    """The user with `email` (or None) and the seconds its attempts must still wait, in a short read of its own.

    The wait depends on the email and the address only, never on whether a user has the email.
    """
    async with runtime.session_factory() as reading:
        user_row = (await reading.execute(select(user).where(user.c.email == email))).first()
        return user_row, await password_wait(reading, email=email, ip=ip, now=now)


@router.post(
    "/login", response_model=SessionAnswer | ChallengeAnswer, openapi_extra=PUBLIC, responses=problems(401, 403, 429)
)
async def login(
    body: LoginRequest, response: Response, db: SessionDep, context: ContextDep, edge: EdgeDep, runtime: RuntimeDep
) -> Any:
    """Log in with email and password; answers a session or the TOTP step to take next."""
    ip, now = edge.client_ip, datetime.now(UTC)
    # Read in a session that is closed before the password check: argon2 takes
    # tens of ms of CPU, and `db` takes a pooled connection only at its first
    # statement, after it. (Held through the check, 32 concurrent logins
    # exhausted the pool in bench/auth.)
    email = normalised_email(body.email)
    user_row, wait = await _who_and_whether_blocked(runtime, email, ip, now)
    if wait:
        await login_failed(db, context, user_row=user_row, ip=ip, reason="throttled", email=email)
        return too_many_attempts(wait)
    password_ok = await verify_password(user_row.password_hash if user_row else None, body.password)
    if not password_ok or user_row is None or not user_row.active:
        reason = "inactive" if password_ok and user_row is not None else "invalid_credentials"
        await login_failed(db, context, user_row=user_row, ip=ip, reason=reason, email=email)
        return problem_response(401, "invalid_credentials", "Wrong email or password")
    if not await may_connect(db, user=user_row, ip=ip):
        await login_failed(db, context, user_row=user_row, ip=ip, reason="ip_not_allowed", email=email)
        return ip_not_allowed(ip)
    if user_row.totp_secret is not None:
        return ChallengeAnswer(
            status="totp_required", challenge=await open_challenge(db, owner=user_row, purpose="totp")
        )
    if await must_enrol_totp(db, user_row):
        challenge = await open_challenge(db, owner=user_row, purpose="totp_setup")
        return ChallengeAnswer(status="totp_setup_required", challenge=challenge)
    issued = await login_succeeded(db, context, response, user_row=user_row, ip=ip, amr=["pwd"])
    return SessionAnswer(**issued.answer())


@router.post("/refresh", response_model=SessionAnswer, openapi_extra=PUBLIC, responses=problems(401, 403))
async def refresh(
    request: Request,
    response: Response,
    db: SessionDep,
    context: ContextDep,
    edge: EdgeDep,
    body: RefreshRequest | None = None,
) -> Any:
    """Exchange a refresh token for new tokens; a spent one revokes its session."""
    presented = (body.refresh_token if body else None) or request.cookies.get(REFRESH_COOKIE)
    if not presented:
        return problem_response(401, "unauthenticated", "Authentication required", "No refresh token.")
    row = (await db.execute(select(refresh_token).where(refresh_token.c.token_hash == token_hash(presented)))).first()
    if row is None:
        return problem_response(401, "invalid_refresh_token", "Invalid refresh token")
    the_session = (await db.execute(select(session_table).where(session_table.c.id == row.session_id))).first()
    assert the_session is not None
    if row.replaced_at is not None:
        # Someone presented a spent token: whoever holds the live one may be a thief.
        await revoke_sessions(db, reason="refresh_token_reuse", session_id=the_session.id)
        await record_audit(
            db,
            action="session.refresh_token_reused",
            account_id=the_session.account_id,
            actor_id=the_session.user_id,
            ip=edge.client_ip,
        )
        return problem_response(401, "invalid_refresh_token", "Invalid refresh token")
    user_row = (await db.execute(select(user).where(user.c.id == the_session.user_id))).first()
    ended = the_session.revoked_at is not None or the_session.expires_at <= datetime.now(UTC)
    if ended or user_row is None or not user_row.active:
        return problem_response(401, "session_ended", "The session has ended")
    # The rules may have changed since the login: apply them again.
    if not await may_connect(db, user=user_row, ip=edge.client_ip):
        return ip_not_allowed(edge.client_ip)
    if "otp" not in the_session.amr.split() and (
        user_row.totp_secret is not None or await must_enrol_totp(db, user_row)
    ):
        await revoke_sessions(db, reason="logout", session_id=the_session.id)
        return problem_response(401, "totp_required", "Log in again with your authenticator code")
    issued = await rotate_refresh_token(db, context, user=user_row, session=the_session, presented=presented)
    set_session_cookies(response, context, issued)
    return SessionAnswer(**issued.answer())


@router.post("/logout", status_code=204)
async def logout(caller: CallerDep, db: SessionDep, context: ContextDep, edge: EdgeDep) -> Response:
    """End this session: its tokens stop working everywhere."""
    await revoke_sessions(db, reason="logout", session_id=caller.principal.session_id)
    await record_audit(
        db,
        action="logout",
        account_id=caller.user.account_id,
        actor_id=caller.user.id,
        actor_email=caller.user.email,
        ip=edge.client_ip,
    )
    answer = Response(status_code=204)
    clear_session_cookies(answer, context)
    return answer


@router.get("/me")
async def me(caller: CallerDep) -> Me:
    """The caller: user, account, and how they authenticated."""
    return Me(
        user_id=caller.user.id,
        email=caller.user.email,
        role=caller.user.role,
        account_id=caller.user.account_id,
        account_name=caller.account.name if caller.account is not None else None,
        totp_enrolled=caller.user.totp_secret is not None,
        amr=list(caller.principal.amr),
    )


@router.get("/jwks.json", openapi_extra=PUBLIC)
async def jwks(context: ContextDep) -> dict[str, Any]:
    """The public keys that verify access tokens (any that is not yet removed)."""
    return context.keys.jwks()
