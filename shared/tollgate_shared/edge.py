"""Trust between the gateway and the services (DESIGN.md §9).

The gateway signs the client address and request id it determined, with the
method and path, in one internal header (HMAC-SHA256 with
`TOLLGATE_INTERNAL_KEY`). Services refuse any request but health checks whose
signature is missing, wrong or stale, so reaching a service port directly
bypasses nothing and a client cannot choose the address a service sees.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from tollgate_shared.errors import PROBLEM_CONTENT_TYPE, problem_type

EDGE_HEADER = "x-tollgate-edge"
MAX_SKEW_SECONDS = 60
UNSIGNED_PATHS = frozenset({"/healthz", "/readyz"})


@dataclass(frozen=True)
class EdgeContext:
    client_ip: str
    request_id: str


class BadEdgeSignature(Exception):
    pass


def _mac(key: bytes, *parts: str) -> str:
    return hmac.new(key, "\n".join(parts).encode(), hashlib.sha256).hexdigest()


def sign_edge(key: bytes, *, method: str, path: str, client_ip: str, request_id: str, now: float | None = None) -> str:
    """The header value the gateway adds to a request it forwards."""
    timestamp = str(int(now if now is not None else time.time()))
    mac = _mac(key, "v1", timestamp, method.upper(), path, client_ip, request_id)
    return f"v1;{timestamp};{client_ip};{request_id};{mac}"


def verify_edge(key: bytes, header: str, *, method: str, path: str, now: float | None = None) -> EdgeContext:
    parts = header.split(";")
    if len(parts) != 5 or parts[0] != "v1":
        raise BadEdgeSignature("malformed")
    _, timestamp, client_ip, request_id, mac = parts
    expected = _mac(key, "v1", timestamp, method.upper(), path, client_ip, request_id)
    if not hmac.compare_digest(expected, mac):
        raise BadEdgeSignature("signature")
    if not timestamp.isdigit() or abs((now if now is not None else time.time()) - int(timestamp)) > MAX_SKEW_SECONDS:
        raise BadEdgeSignature("stale")
    return EdgeContext(client_ip=client_ip, request_id=request_id)


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
