"""A minimal streaming reverse proxy in front of one service, with aiohttp or httpx as its client.

    python -m bench.gateway.mini_proxy --client httpx --port 9001 --upstream http://127.0.0.1:8101

Both variants are the same ASGI callable doing what the gateway's proxy does
per request (`gateway/proxy.py`): the gateway's own header rules and edge
signature (`forward_headers`), the request body streamed up, the answer's
headers filtered and its body streamed down in 64 KiB chunks, over one shared
pooled client with no connection limit. Only the HTTP client differs. No token
check, no IP decision, no tracing: that is the gateway's part, measured apart
(the token's claims are read unverified only to name the caller in the edge
header, as the services need).
The internal key comes from TOLLGATE_INTERNAL_KEY. Served by uvicorn with
uvloop and httptools, as `tollgate serve` serves the gateway.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx
import uvicorn
from starlette.types import Receive, Scope, Send

from gateway.credentials import credential_of
from gateway.headers import HOP_BY_HOP, SECURITY_HEADERS, connection_tokens
from gateway.proxy import forward_headers, request_id_of
from tests.support.harness import principal_of
from tollgate_shared.access_tokens import Principal

CHUNK = 64 * 1024


def _response_headers(raw: list[tuple[bytes, bytes]], request_id: str) -> list[tuple[bytes, bytes]]:
    dropped = HOP_BY_HOP | connection_tokens(raw) | {b"x-request-id", b"date", b"server"}
    headers = [(n.lower(), v) for n, v in raw if n.lower() not in dropped]
    present = {n for n, _ in headers}
    headers += [h for h in SECURITY_HEADERS if h[0] not in present]
    headers.append((b"x-request-id", request_id.encode()))
    return headers


def _unverified_caller(scope: Scope) -> Principal | None:
    credential = credential_of(scope["headers"])
    if credential is None:
        return None
    return principal_of(credential.token)


class MiniProxy:
    def __init__(self, client: str, upstream: str, key: bytes) -> None:
        if client not in ("aiohttp", "httpx"):
            raise ValueError(client)
        self.client = client
        self.upstream = upstream.rstrip("/")
        self.key = key
        self.session: aiohttp.ClientSession | None = None
        self.httpx: httpx.AsyncClient | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["path"] == "/healthz":
            # JSON, as the bench's readiness probe reads every health answer (bench.common.ServerProcess).
            health = b'{"status":"ok"}'
            answer_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(health)).encode())]
            await send({"type": "http.response.start", "status": 200, "headers": answer_headers})
            await send({"type": "http.response.body", "body": health})
            return
        request_id = request_id_of(scope)
        client_ip = (scope.get("client") or ("127.0.0.1", 0))[0]
        headers = forward_headers(
            scope, client_ip=client_ip, request_id=request_id, key=self.key, principal=_unverified_caller(scope)
        )
        path = scope["raw_path"].decode("latin-1") if scope.get("raw_path") else scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        url = self.upstream + path + (f"?{query}" if query else "")
        has_body = any(n in (b"content-length", b"transfer-encoding") for n, _ in scope["headers"])

        async def body() -> AsyncIterator[bytes]:
            while True:
                message = await receive()
                chunk = message.get("body", b"")
                if chunk:
                    yield chunk
                if not message.get("more_body", False):
                    return

        if self.client == "aiohttp":
            await self._aiohttp(scope["method"], url, headers, body() if has_body else None, send, request_id)
        else:
            await self._httpx(scope["method"], url, headers, body() if has_body else None, send, request_id)

    async def _aiohttp(
        self, method: str, url: str, headers: list[tuple[str, str]], data: Any, send: Send, request_id: str
    ) -> None:
        assert self.session is not None
        try:
            async with self.session.request(
                method, url, headers=headers, data=data, allow_redirects=False, auto_decompress=False
            ) as response:
                await send(
                    {
                        "type": "http.response.start",
                        "status": response.status,
                        "headers": _response_headers(list(response.raw_headers), request_id),
                    }
                )
                async for chunk in response.content.iter_chunked(CHUNK):
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except aiohttp.ClientError:
            await _bad_gateway(send)

    async def _httpx(
        self, method: str, url: str, headers: list[tuple[str, str]], data: Any, send: Send, request_id: str
    ) -> None:
        assert self.httpx is not None
        request = self.httpx.build_request(method, url, headers=headers, content=data)
        try:
            response = await self.httpx.send(request, stream=True, follow_redirects=False)
        except httpx.HTTPError:
            await _bad_gateway(send)
            return
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": _response_headers(list(response.headers.raw), request_id),
                }
            )
            async for chunk in response.aiter_raw(CHUNK):
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                # The same pool settings as the gateway: no connection limit, 30 s keep-alive.
                if self.client == "aiohttp":
                    self.session = aiohttp.ClientSession(
                        connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=30, ttl_dns_cache=300),
                        auto_decompress=False,
                        cookie_jar=aiohttp.DummyCookieJar(),
                        timeout=aiohttp.ClientTimeout(total=None, sock_connect=2, sock_read=30),
                    )
                else:
                    self.httpx = httpx.AsyncClient(
                        limits=httpx.Limits(max_connections=None, max_keepalive_connections=None, keepalive_expiry=30),
                        timeout=httpx.Timeout(30.0, connect=2.0, pool=None),
                        trust_env=False,
                    )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.session is not None:
                    await self.session.close()
                if self.httpx is not None:
                    await self.httpx.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _bad_gateway(send: Send) -> None:
    await send({"type": "http.response.start", "status": 502, "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.gateway.mini_proxy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--client", choices=("aiohttp", "httpx"), required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    args = parser.parse_args(argv)
    key = os.environ["TOLLGATE_INTERNAL_KEY"].encode()
    app = MiniProxy(args.client, args.upstream, key)
    uvicorn.run(
        app, host="127.0.0.1", port=args.port, loop="uvloop", http="httptools", log_config=None, access_log=False
    )


if __name__ == "__main__":
    main()
