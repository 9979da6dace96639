"""Who is calling a service: the access token of the request, verified.

Bearer tokens come from API clients; browsers send the `tg_access` cookie, and
then every unsafe request must echo the `tg_csrf` cookie in `X-CSRF-Token`
(double submit: a cross-site form cannot read the cookie to echo it).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from fastapi import Request

from tollgate_shared.access_tokens import InvalidToken, Principal
from tollgate_shared.errors import DomainError

ACCESS_COOKIE = "tg_access"
CSRF_COOKIE = "tg_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Unauthenticated(DomainError):
    status, code, title = 401, "unauthenticated", "Authentication required"


class CsrfFailed(DomainError):
    status, code, title = 403, "csrf_failed", "Missing or wrong CSRF token"


def access_token_of(request: Request) -> str:
    """The request's access token, after the CSRF check when it came in a cookie."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    cookie = request.cookies.get(ACCESS_COOKIE)
    if not cookie:
        raise Unauthenticated()
    if request.method not in SAFE_METHODS:
        sent, expected = request.headers.get(CSRF_HEADER, ""), request.cookies.get(CSRF_COOKIE, "")
        if not expected or not hmac.compare_digest(sent, expected):
            raise CsrfFailed()
    return cookie


async def authenticate(request: Request, verify: Callable[[str], Awaitable[Principal]]) -> Principal:
    """The verified principal of the request, or `Unauthenticated`."""
    token = access_token_of(request)
    try:
        return await verify(token)
    except InvalidToken as exc:
        raise Unauthenticated("The access token is not valid.") from exc
