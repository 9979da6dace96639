"""Login: password, then the TOTP step or TOTP enrolment; refresh, logout, me."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from auth.api.cookies import REFRESH_COOKIE, clear_session_cookies, set_session_cookies
from auth.api.deps import CallerDep, ContextDep
from auth.api.schemas import ChallengeAnswer, LoginRequest, Me, RefreshRequest, SessionAnswer, session_answer
from auth.domain.login import NextStep
from auth.domain.records import Caller
from auth.domain.totp_grace import enrolment_due_by
from auth.use_cases.log_in import log_in
from auth.use_cases.log_out import log_out
from auth.use_cases.refresh_session import refresh_session
from tollgate_shared.openapi import PUBLIC, problems
from tollgate_shared.service import EdgeDep, RuntimeDep, SessionDep

router = APIRouter(prefix="/api/auth", tags=["login"])


@router.post(
    "/login", response_model=SessionAnswer | ChallengeAnswer, openapi_extra=PUBLIC, responses=problems(401, 403, 429)
)
async def login(
    body: LoginRequest, response: Response, db: SessionDep, context: ContextDep, edge: EdgeDep, runtime: RuntimeDep
) -> SessionAnswer | ChallengeAnswer:
    """Log in with email and password; answers a session or the TOTP step to take next."""
    outcome = await log_in(
        db, context, reader=runtime.session_factory, email=body.email, password=body.password, ip=edge.client_ip
    )
    if outcome.session is not None:
        set_session_cookies(response, context, outcome.session)
        return session_answer(outcome.session, totp_due_by=outcome.totp_due_by)
    assert outcome.challenge is not None and outcome.step is not NextStep.SESSION
    return ChallengeAnswer(status=outcome.step, challenge=outcome.challenge)


@router.post("/refresh", response_model=SessionAnswer, openapi_extra=PUBLIC, responses=problems(401, 403))
async def refresh(
    request: Request,
    response: Response,
    db: SessionDep,
    context: ContextDep,
    edge: EdgeDep,
    body: RefreshRequest | None = None,
) -> SessionAnswer:
    """Exchange a refresh token for new tokens; a spent one revokes its session."""
    presented = (body.refresh_token if body else None) or request.cookies.get(REFRESH_COOKIE)
    issued = await refresh_session(db, context, presented=presented, ip=edge.client_ip)
    set_session_cookies(response, context, issued)
    return session_answer(issued)


@router.post("/logout", status_code=204)
async def logout(caller: CallerDep, db: SessionDep, context: ContextDep, edge: EdgeDep) -> Response:
    """End this session: its tokens stop working everywhere."""
    await log_out(db, caller, ip=edge.client_ip)
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
        totp_enrolled=caller.user.totp_enrolled,
        totp_due_by=totp_due_by(caller),
        amr=list(caller.amr),
    )


def totp_due_by(caller: Caller) -> datetime | None:
    """By when the caller must set up 2FA: staff enrol at login, the enrolled have nothing due."""
    if caller.user.totp_enrolled or caller.account is None:
        return None
    return enrolment_due_by(caller.account.totp_policy, user_created_at=caller.user.created_at)


@router.get("/jwks.json", openapi_extra=PUBLIC)
async def jwks(context: ContextDep) -> dict[str, Any]:
    """The public keys that verify access tokens (any that is not yet removed)."""
    return context.keys.jwks()
