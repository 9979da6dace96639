"""Who is calling a service: the principal the gateway verified, and nothing else.

The gateway accepts exactly one credential per request (a Bearer token or the
browser's `tg_access` cookie), checks it (signature, revoked session, IP rules,
and for a cookie on an unsafe method the CSRF token bound to the session), and
forwards only the principal, inside its signed edge header. A service never
reads `Authorization` or cookies for identity: they do not even reach it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac

from fastapi import Request

from tollgate_shared.access_tokens import Principal
from tollgate_shared.edge import EdgeContext
from tollgate_shared.errors import DomainError
from tollgate_shared.revocations import RevocationFeed

ACCESS_COOKIE = "tg_access"
CSRF_COOKIE = "tg_csrf"
CSRF_HEADER = "x-csrf-token"  # the gateway checks it (gateway/access.py)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# How long a service waits for its first snapshot of revoked sessions before refusing.
REVOCATIONS_WAIT_SECONDS = 5.0


class Unauthenticated(DomainError):
    status, code, title = 401, "unauthenticated", "Authentication required"


class SessionRevoked(DomainError):
    status, code, title = 401, "session_revoked", "The session has ended"


class RevocationsNotLoaded(DomainError):
    status, code, title = 503, "not_ready", "Not ready"


def csrf_token(key: bytes, session_id: str) -> str:
    """The CSRF token of a session: auth sets it as the readable `tg_csrf` cookie, the
    gateway recomputes it. Bound to the session, so a token of another session (or one a
    sibling subdomain planted as a cookie) is useless."""
    mac = hmac.new(key, f"csrf\n{session_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:24]).decode("ascii")


def edge_principal(request: Request) -> Principal:
    """The caller the gateway verified, or `Unauthenticated`."""
    edge: EdgeContext = request.state.edge
    if edge.principal is None:
        raise Unauthenticated()
    return edge.principal


async def live_principal(request: Request) -> Principal:
    """The caller, refused when auth has revoked their session (billing, invoicing)."""
    principal = edge_principal(request)
    feed: RevocationFeed = request.app.state.revocations
    if not feed.loaded.is_set():
        try:
            async with asyncio.timeout(REVOCATIONS_WAIT_SECONDS):
                await feed.loaded.wait()
        except TimeoutError as exc:
            raise RevocationsNotLoaded("This service has not yet learnt which sessions are revoked.") from exc
    if feed.revoked.is_revoked(principal.session_id):
        raise SessionRevoked()
    return principal
