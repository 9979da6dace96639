"""Browser sessions: HttpOnly cookies, and a CSRF token bound to the session for unsafe methods."""

from __future__ import annotations

from fastapi import Response

from auth.adapters.context import AuthContext
from auth.use_cases.issue_session import IssuedSession
from tollgate_shared.callers import ACCESS_COOKIE, CSRF_COOKIE, csrf_token

REFRESH_COOKIE = "tg_refresh"
REFRESH_PATH = "/api/auth"


def set_session_cookies(response: Response, context: AuthContext, issued: IssuedSession) -> None:
    secure = context.settings.cookie_secure
    response.set_cookie(
        ACCESS_COOKIE,
        issued.access_token,
        max_age=issued.expires_in,
        path="/",
        secure=secure,
        httponly=True,
        samesite="strict",
    )
    response.set_cookie(
        REFRESH_COOKIE,
        issued.refresh_token,
        max_age=context.settings.refresh_token_days * 86400,
        path=REFRESH_PATH,
        secure=secure,
        httponly=True,
        samesite="strict",
    )
    # Readable by the page's script, which echoes it in X-CSRF-Token: a forged
    # cross-site request cannot read it, so cannot echo it. Bound to the session
    # (the gateway recomputes it), so a token planted from elsewhere is worthless.
    token = csrf_token(context.settings.internal_key.get_secret_value().encode(), issued.session_id)
    response.set_cookie(CSRF_COOKIE, token, path="/", secure=secure, httponly=False, samesite="strict")


def clear_session_cookies(response: Response, context: AuthContext) -> None:
    secure = context.settings.cookie_secure
    response.delete_cookie(ACCESS_COOKIE, path="/", secure=secure, httponly=True, samesite="strict")
    response.delete_cookie(REFRESH_COOKIE, path=REFRESH_PATH, secure=secure, httponly=True, samesite="strict")
    response.delete_cookie(CSRF_COOKIE, path="/", secure=secure, samesite="strict")
