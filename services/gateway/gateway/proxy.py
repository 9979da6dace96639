"""Streaming reverse proxy to the services over one pooled aiohttp client.

Bodies stream both ways. The upstream down is a 503, too slow a 504, a broken
answer a 502, a body over the limit a 413: all problem details.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
from opentelemetry import propagate
from starlette.types import Receive, Scope, Send

from gateway.credentials import without_credentials
from gateway.headers import HOP_BY_HOP, SECURITY_HEADERS, SET_BY_GATEWAY, TRACE_CONTEXT, connection_tokens
from gateway.problems import send_problem
from gateway.upstreams import Upstream
from tollgate_shared.access_tokens import Principal
from tollgate_shared.edge import EDGE_HEADER, sign_edge

log = logging.getLogger(__name__)
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
CHUNK = 64 * 1024
# Methods whose request, sent twice, has the effect of one (RFC 9110 §9.2.2) and that carry no body here.
RESENDABLE = frozenset({"GET", "HEAD", "OPTIONS"})


class BodyTooLarge(Exception):
    pass


@dataclass(frozen=True)
class ProxySettings:
    internal_key: bytes
    max_body_bytes: int


def request_id_of(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if REQUEST_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex


def forward_headers(
    scope: Scope, *, client_ip: str, request_id: str, key: bytes, principal: Principal | None
) -> list[tuple[str, str]]:
    """The request's headers as the service gets them: no client credentials, the signed edge
    header naming the verified principal, the trace context of the current span."""
    raw: list[tuple[bytes, bytes]] = scope["headers"]
    dropped = HOP_BY_HOP | SET_BY_GATEWAY | TRACE_CONTEXT | connection_tokens(raw)
    headers = [
        (n.decode("latin-1"), v.decode("latin-1")) for n, v in without_credentials(raw) if n.lower() not in dropped
    ]
    # The upstream client is not instrumented (its client span and trace-config
    # signals cost CPU on every request): the service's span continues the gateway's.
    trace_context: dict[str, str] = {}
    propagate.inject(trace_context)
    headers += trace_context.items()
    headers += [
        ("X-Forwarded-For", client_ip),
        ("X-Forwarded-Proto", scope.get("scheme", "http")),
        ("X-Request-ID", request_id),
        (
            EDGE_HEADER,
            sign_edge(
                key,
                method=scope["method"],
                path=scope["path"],
                client_ip=client_ip,
                request_id=request_id,
                principal=principal,
            ),
        ),
    ]
    return headers


async def proxy(
    scope: Scope,
    receive: Receive,
    send: Send,
    *,
    upstream: Upstream,
    session: aiohttp.ClientSession,
    settings: ProxySettings,
    client_ip: str,
    principal: Principal | None,
    client_timeout: aiohttp.ClientTimeout,
) -> None:
    """Forward one request to `upstream` and stream its answer back."""
    request_id = request_id_of(scope)
    declared = _content_length(scope)
    if declared is not None and declared > settings.max_body_bytes:
        await send_problem(
            send, 413, "body_too_large", f"The body exceeds {settings.max_body_bytes} bytes.", request_id
        )
        return
    headers = forward_headers(
        scope, client_ip=client_ip, request_id=request_id, key=settings.internal_key, principal=principal
    )
    body_started = too_large = False

    async def body() -> AsyncIterator[bytes]:
        nonlocal body_started, too_large
        body_started = True
        size = 0
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > settings.max_body_bytes:
                too_large = True
                raise BodyTooLarge
            if chunk:
                yield chunk
            if not message.get("more_body", False):
                return

    path = scope["raw_path"].decode("latin-1") if scope.get("raw_path") else scope["path"]
    query = scope.get("query_string", b"").decode("latin-1")
    target = path + (f"?{query}" if query else "")
    has_body = declared not in (None, 0) or any(n == b"transfer-encoding" for n, _ in scope["headers"])
    resendable = scope["method"] in RESENDABLE and not has_body
    endpoints = upstream.candidates()
    for attempt, endpoint in enumerate(endpoints):
        others_left = attempt + 1 < len(endpoints)
        try:
            async with session.request(
                scope["method"],
                endpoint.url + target,
                headers=headers,
                data=body() if has_body else None,
                allow_redirects=False,
                timeout=client_timeout,
                auto_decompress=False,
            ) as response:
                upstream.succeeded(endpoint)
                await _relay_response(response, send, request_id)
                return
        except BodyTooLarge:
            await send_problem(
                send, 413, "body_too_large", f"The body exceeds {settings.max_body_bytes} bytes.", request_id
            )
            return
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            # No connection, so nothing reached the service: another endpoint may take it, whatever the method.
            upstream.failed(endpoint, str(exc))
            if not body_started and others_left:
                continue
            log.warning("upstream %s unreachable", upstream.name)
            break
        except (TimeoutError, aiohttp.ServerTimeoutError):
            log.warning("upstream %s timed out", upstream.name)
            await send_problem(
                send, 504, "upstream_timeout", f"The {upstream.name} service did not answer in time.", request_id
            )
            return
        except _ResponseStarted:
            return  # the answer was cut mid-stream; the client sees a truncated body
        except aiohttp.ClientError as exc:
            if too_large:  # aiohttp wraps what the body generator raised
                await send_problem(
                    send, 413, "body_too_large", f"The body exceeds {settings.max_body_bytes} bytes.", request_id
                )
                return
            # The request may have reached the service: only one that does nothing when sent twice goes again.
            if resendable and others_left and isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientOSError):
                log.info("upstream %s dropped a %s; sending it to another endpoint", upstream.name, scope["method"])
                continue
            log.warning("upstream %s failed: %r", upstream.name, exc)
            await send_problem(send, 502, "bad_gateway", f"The {upstream.name} service answered badly.", request_id)
            return
    await send_problem(send, 503, "service_unavailable", f"The {upstream.name} service is unavailable.", request_id)


class _ResponseStarted(Exception):
    pass


async def _relay_response(response: aiohttp.ClientResponse, send: Send, request_id: str) -> None:
    raw = list(response.raw_headers)
    # The gateway's server adds its own Date and Server headers.
    dropped = HOP_BY_HOP | connection_tokens(raw) | {b"x-request-id", b"date", b"server"}
    headers = [(n.lower(), v) for n, v in raw if n.lower() not in dropped]
    present = {n for n, _ in headers}
    headers += [h for h in SECURITY_HEADERS if h[0] not in present]
    headers.append((b"x-request-id", request_id.encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    try:
        async for chunk in response.content.iter_chunked(CHUNK):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    except (TimeoutError, aiohttp.ClientError) as exc:
        log.warning("upstream answer cut: %r", exc)
        raise _ResponseStarted from exc
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
