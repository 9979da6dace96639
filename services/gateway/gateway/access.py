"""The edge's decision for one request: rate limit, the one credential, revoked session, CSRF, IP rules."""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass

from starlette.types import Scope

from gateway.client_address import Address
from gateway.credentials import CredentialRefused, credential_of
from gateway.edge_policy import is_public, is_rate_limited, takes_optional_credential
from gateway.ip_index import IpRuleIndex
from gateway.rate_limit import RateLimiter, retry_after
from tollgate_shared import callers, ip_refusal
from tollgate_shared.access_tokens import InvalidToken, Principal
from tollgate_shared.callers import SAFE_METHODS, csrf_token
from tollgate_shared.jwks import JwksCache
from tollgate_shared.metrics.catalogue import GATEWAY_IP_DENIALS
from tollgate_shared.revocations import RevokedSessions

log = logging.getLogger(__name__)
CSRF_HEADER = callers.CSRF_HEADER.encode()
IP_DENIALS = GATEWAY_IP_DENIALS.labels("gateway")


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    detail: str
    headers: tuple[tuple[bytes, bytes], ...] = ()
    title: str | None = None  # None: the status's phrase
    fields: tuple[tuple[str, str], ...] = ()  # the problem's extension members


@dataclass(frozen=True)
class Admitted:
    """The request may go on; `principal` is who it acts as (None on a public path)."""

    principal: Principal | None


PUBLIC = Admitted(None)


class EdgeAccess:
    def __init__(
        self,
        *,
        jwks: JwksCache,
        index: IpRuleIndex,
        revoked: RevokedSessions,
        limiter: RateLimiter,
        internal_key: bytes,
    ) -> None:
        self.jwks = jwks
        self.index = index
        self.revoked = revoked
        self.limiter = limiter
        self.internal_key = internal_key

    async def check(self, scope: Scope, client: Address | None, client_ip: str) -> Refusal | Admitted:
        """Who the request acts as, or why it may not go on to its service.

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
            if takes_optional_credential(method, path):
                decision = await self.verify(scope, client, client_ip)
                return decision if isinstance(decision, Admitted) else PUBLIC
            return PUBLIC  # whatever credentials it carries are stripped, never forwarded
        return await self.verify(scope, client, client_ip)

    async def verify(self, scope: Scope, client: Address | None, client_ip: str) -> Refusal | Admitted:
        """The request's one credential, checked: token, session, CSRF, IP rules."""
        try:
            credential = credential_of(scope["headers"])
        except CredentialRefused as refused:
            return Refusal(refused.status, refused.code, refused.detail)
        if credential is None:
            return Refusal(401, "unauthenticated", "An access token is required.")
        if not self.index.loaded:
            # Fail closed: without the rules we cannot know who may pass.
            return Refusal(503, "not_ready", "The gateway is still loading the IP rules.")
        try:
            principal = await self.jwks.verify(credential.token)
        except InvalidToken:
            return Refusal(401, "invalid_token", "The access token is not valid.")
        if self.revoked.is_revoked(principal.session_id):
            return Refusal(401, "session_revoked", "The session has ended.")
        if credential.from_cookie and scope["method"] not in SAFE_METHODS and not self._csrf_ok(scope, principal):
            return Refusal(403, "csrf_failed", "Missing or wrong CSRF token.")
        if not self.index.allows(principal.account_id, principal.user_id, client):
            IP_DENIALS.inc()
            log.warning(
                "ip_not_allowed",
                extra={"user_id": principal.user_id, "account_id": principal.account_id, "client_ip": client_ip},
            )
            # The words auth says at login (tollgate_shared.ip_refusal), so the portal shows one message.
            return Refusal(
                403,
                ip_refusal.CODE,
                ip_refusal.detail(client_ip),
                title=ip_refusal.TITLE,
                fields=tuple(ip_refusal.fields(client_ip).items()),
            )
        return Admitted(principal)

    def _csrf_ok(self, scope: Scope, principal: Principal) -> bool:
        """Double submit, bound to the session: the page echoes the `tg_csrf` cookie auth set for it."""
        sent = next((value for name, value in scope["headers"] if name == CSRF_HEADER), b"")
        expected = csrf_token(self.internal_key, principal.session_id).encode()
        return hmac.compare_digest(sent, expected)
