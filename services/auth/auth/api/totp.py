"""The TOTP steps of login: enrolment (setup, then verify) and the code at every login."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from auth.api.cookies import set_session_cookies
from auth.api.deps import ContextDep, current_caller
from auth.api.schemas import SessionAnswer, TotpSetupAnswer, TotpSetupRequest, TotpVerifyRequest, session_answer
from auth.use_cases.set_up_totp import set_up_totp
from auth.use_cases.verify_totp import verify_totp
from tollgate_shared.openapi import CREDENTIALS_OPTIONAL, PUBLIC, problems
from tollgate_shared.service import EdgeDep, SessionDep

router = APIRouter(prefix="/api/auth/totp", tags=["totp"])


@router.post(
    "/setup", response_model=TotpSetupAnswer, openapi_extra=CREDENTIALS_OPTIONAL, responses=problems(401, 409, 429)
)
async def setup(body: TotpSetupRequest, request: Request, db: SessionDep, context: ContextDep) -> TotpSetupAnswer:
    """Start enrolment: the seed, its otpauth URI and the QR code to scan.

    With a `totp_setup_required` challenge from login; or, without one, by a
    logged-in user enrolling voluntarily (the answer carries the challenge to verify with).
    """
    volunteer = None if body.challenge is not None else (await current_caller(request, db)).user
    started = await set_up_totp(db, context, challenge=body.challenge, volunteer=volunteer)
    return TotpSetupAnswer(
        challenge=started.challenge,
        secret=started.secret,
        otpauth_uri=started.otpauth_uri,
        qr_svg=started.qr_svg,
        email=started.email,
        account_name=started.account_name,
    )


@router.post("/verify", response_model=SessionAnswer, openapi_extra=PUBLIC, responses=problems(401, 403, 409, 429))
async def verify(
    body: TotpVerifyRequest, response: Response, db: SessionDep, context: ContextDep, edge: EdgeDep
) -> SessionAnswer:
    """Answer the challenge with a code (or a recovery code); a session on success."""
    verified = await verify_totp(db, context, challenge=body.challenge, code=body.code, ip=edge.client_ip)
    set_session_cookies(response, context, verified.session)
    return session_answer(verified.session, recovery_codes=verified.recovery_codes)
