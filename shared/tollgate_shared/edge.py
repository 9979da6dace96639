"""Trust between the gateway and the services (DESIGN.md §9, §10).

The gateway signs what it determined about a request in one internal header
(HMAC-SHA256 with `TOLLGATE_INTERNAL_KEY`): the client address, the request id
and, when the request carried a credential the gateway verified, the principal
it belongs to (user, account, roles, session, how they logged in), with the
method and path. Services refuse any request but health checks whose signature
is missing, wrong or stale, and they learn who is calling only from this header:
the client's own `Authorization` header and `tg_access` cookie never reach them,
so what the edge checked (IP rules, revoked sessions) is what the service obeys.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from tollgate_shared.access_tokens import Principal, principal_from_claims
from tollgate_shared.errors import PROBLEM_CONTENT_TYPE, problem_type

EDGE_HEADER = "x-tollgate-edge"
VERSION = "v2"
MAX_SKEW_SECONDS = 60
UNSIGNED_PATHS = frozenset({"/healthz", "/readyz"})


@dataclass(frozen=True)
class EdgeContext:
    client_ip: str
    request_id: str
    # The caller the gateway verified; None for the public paths (sign-up, login steps, webhooks…).
    principal: Principal | None = None


class BadEdgeSignature(Exception):
    pass


def _mac(key: bytes, *parts: str) -> str:
    return hmac.new(key, "\n".join(parts).encode(), hashlib.sha256).hexdigest()


def encode_principal(principal: Principal | None) -> str:
    """The principal as one header-safe field (base64url of compact JSON); empty when anonymous."""
    if principal is None:
        return ""
    claims = {
        "sub": principal.user_id,
        "acc": principal.account_id,
        "roles": list(principal.roles),
        "sid": principal.session_id,
        "amr": list(principal.amr),
    }
    raw = json.dumps(claims, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_principal(field: str) -> Principal | None:
    if not field:
        return None
    try:
        return principal_from_claims(json.loads(base64.urlsafe_b64decode(field + "=" * (-len(field) % 4))))
    except (ValueError, KeyError, TypeError) as exc:  # only a signed field gets here: a bug, not an attack
        raise BadEdgeSignature("principal") from exc


def sign_edge(
    key: bytes,
    *,
    method: str,
    path: str,
    client_ip: str,
    request_id: str,
    principal: Principal | None = None,
    now: float | None = None,
) -> str:
    """The header value the gateway adds to a request it forwards."""
    timestamp = str(int(now if now is not None else time.time()))
    who = encode_principal(principal)
    mac = _mac(key, VERSION, timestamp, method.upper(), path, client_ip, request_id, who)
    return f"{VERSION};{timestamp};{client_ip};{request_id};{who};{mac}"


def verify_edge(key: bytes, header: str, *, method: str, path: str, now: float | None = None) -> EdgeContext:
    parts = header.split(";")
    if len(parts) != 6 or parts[0] != VERSION:
        raise BadEdgeSignature("malformed")
    _, timestamp, client_ip, request_id, who, mac = parts
    expected = _mac(key, VERSION, timestamp, method.upper(), path, client_ip, request_id, who)
    if not hmac.compare_digest(expected, mac):
        raise BadEdgeSignature("signature")
    if not timestamp.isdigit() or abs((now if now is not None else time.time()) - int(timestamp)) > MAX_SKEW_SECONDS:
        raise BadEdgeSignature("stale")
    return EdgeContext(client_ip=client_ip, request_id=request_id, principal=decode_principal(who))


class EdgeSignatureMiddleware:
    """Pure ASGI: verifies the gateway's signature and exposes it as `request.state.edge`."""

    def __init__(self, app: ASGIApp, key: bytes) -> None:
        self.app = app
        self.key = key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNSIGNED_PATHS:
            await self.app(scope, receive, send)
            return
        header = next((v.decode("latin-1") for k, v in scope["headers"] if k == EDGE_HEADER.encode()), "")
        try:
            context = verify_edge(self.key, header, method=scope["method"], path=scope["path"])
        except BadEdgeSignature:
            await _refuse(send)
            return
        scope.setdefault("state", {})["edge"] = context
        await self.app(scope, receive, send)


async def _refuse(send: Send) -> None:
    body = json.dumps(
        {
            "type": problem_type("not_from_gateway"),
            "title": "Requests must come through the gateway",
            "status": 403,
            "code": "not_from_gateway",
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [(b"content-type", PROBLEM_CONTENT_TYPE.encode()), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
