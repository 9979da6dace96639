"""The edge's decision for one request: rate limit, token, revoked session, IP rules."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from starlette.types import Scope

from gateway.client_address import Address
from gateway.edge_policy import is_public, is_rate_limited
from gateway.ip_index import IpRuleIndex
from gateway.rate_limit import RateLimiter, retry_after
from gateway.revocations import RevokedSessions
from tollgate_shared.access_tokens import InvalidToken
from tollgate_shared.jwks import JwksCache

log = logging.getLogger(__name__)
ACCESS_COOKIE = b"tg_access"


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    detail: str
    headers: tuple[tuple[bytes, bytes], ...] = ()


def bearer_token(scope: Scope) -> str | None:
    """The access token: `Authorization: Bearer …`, else the browser's session cookie."""
    cookie_header = b""
    for name, value in scope["headers"]:
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            token: str = value[7:].strip().decode("latin-1")
            return token
        if name == b"cookie":
            cookie_header = value
    for part in cookie_header.split(b";"):
        key, _, value = part.strip().partition(b"=")
        if key == ACCESS_COOKIE and value:
            return value.decode("latin-1")
    return None


class EdgeAccess:
    def __init__(self, *, jwks: JwksCache, index: IpRuleIndex, revoked: RevokedSessions, limiter: RateLimiter) -> None:
        self.jwks = jwks
        self.index = index
        self.revoked = revoked
        self.limiter = limiter

    async def check(self, scope: Scope, client: Address | None, client_ip: str) -> Refusal | None:
        """None when the request may go on to its service.

        `client` is the client address parsed once for the whole request (None when
        unparsable), `client_ip` its text (or the raw peer).
        """
        method, path = scope["method"], scope["path"]
        if is_rate_limited(method, path):
            wait = self.limiter.take(client_ip)
            if wait:
                return Refusal(
                    429,
                    "too_many_requests",
                    "Too many attempts from this address.",
                    ((b"retry-after", retry_after(wait).encode()),),
                )
        if is_public(method, path):
            return None
        token = bearer_token(scope)
        if token is None:
            return Refusal(401, "unauthenticated", "An access token is required.")
        if not self.index.loaded:
            # Fail closed: without the rules we cannot know who may pass.
            return Refusal(503, "not_ready", "The gateway is still loading the IP rules.")
        try:
            principal = await self.jwks.verify(token)
        except InvalidToken:
            return Refusal(401, "invalid_token", "The access token is not valid.")
        if self.revoked.is_revoked(principal.session_id):
            return Refusal(401, "session_revoked", "The session has ended.")
        if not self.index.allows(principal.account_id, principal.user_id, client):
            log.warning(
                "ip_not_allowed",
                extra={"user_id": principal.user_id, "account_id": principal.account_id, "client_ip": client_ip},
            )
            return Refusal(403, "ip_not_allowed", f"Access from {client_ip} is not allowed for this user.")
        return None
