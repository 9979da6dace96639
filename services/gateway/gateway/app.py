"""The edge gateway: the only entry point for web clients.

A plain ASGI callable in front: paths of the services' public API go straight
to the streaming proxy (no framework routing on the hot path); everything else
(health, `/api/whoami`, the UI) is a small FastAPI app.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.client_address import client_address
from gateway.headers import SECURITY_HEADERS, UI_HEADERS
from gateway.proxy import ProxySettings, Upstream, proxy
from gateway.routes import route
from gateway.settings import GatewaySettings
from tollgate_shared.errors import install_problem_handlers, problem_response

UI_DIR = Path(__file__).parent / "ui"


class Gateway:
    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.trusted = settings.trusted_networks()
        self.upstreams = {name: Upstream(name, urls) for name, urls in settings.upstream_urls().items()}
        self.proxy_settings = ProxySettings(settings.internal_key.get_secret_value().encode(), settings.max_body_bytes)
        self.timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=settings.upstream_connect_timeout, sock_read=settings.upstream_timeout
        )
        self.session: aiohttp.ClientSession | None = None
        self.api = self._build_api()

    def client_ip(self, scope: Scope) -> str:
        peer = (scope.get("client") or ("", 0))[0]
        forwarded = [v.decode("latin-1") for n, v in scope["headers"] if n == b"x-forwarded-for"]
        address = client_address(peer, forwarded, self.trusted)
        return str(address) if address is not None else peer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            service = route(scope["path"])
            if service is not None:
                assert self.session is not None, "the gateway's lifespan has not run"
                await proxy(
                    scope,
                    receive,
                    send,
                    upstream=self.upstreams[service],
                    session=self.session,
                    settings=self.proxy_settings,
                    client_ip=self.client_ip(scope),
                    client_timeout=self.timeout,
                )
                return
            await self.api(scope, receive, _with_headers(send, scope["path"]))
            return
        await self.api(scope, receive, send)

    async def upstreams_ready(self) -> dict[str, bool]:
        """Each service is ready when at least one of its replicas says so."""
        assert self.session is not None
        timeout = aiohttp.ClientTimeout(total=2)

        async def ready(url: str) -> bool:
            assert self.session is not None
            try:
                async with self.session.get(f"{url}/readyz", timeout=timeout) as response:
                    return response.status == 200
            except (aiohttp.ClientError, TimeoutError):
                return False

        results = {}
        for name, upstream in self.upstreams.items():
            answers = await asyncio.gather(*(ready(url) for url in upstream.urls))
            results[name] = any(answers)
        return results

    def _build_api(self) -> FastAPI:
        @contextlib.asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=30, ttl_dns_cache=300)
            self.session = aiohttp.ClientSession(
                connector=connector, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar()
            )
            try:
                yield
            finally:
                await self.session.close()

        api = FastAPI(title="Tollgate gateway", lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)
        install_problem_handlers(api)

        @api.get("/healthz", include_in_schema=False)
        async def healthz() -> dict[str, str]:
            return {"status": "ok"}

        @api.get("/readyz", include_in_schema=False)
        async def readyz() -> JSONResponse:
            """Ready when every service has a ready replica."""
            checks = await self.upstreams_ready()
            if all(checks.values()):
                return JSONResponse({"status": "ready", "checks": checks})
            return problem_response(503, "not_ready", "Not ready", checks=checks)

        @api.get("/api/whoami")
        async def whoami(request: Request) -> dict[str, str]:
            """The client address as the gateway sees it (the IP-allowlist diagnostic)."""
            return {"ip": self.client_ip(request.scope)}

        @api.get("/", include_in_schema=False)
        async def index() -> FileResponse:
            return FileResponse(UI_DIR / "index.html", media_type="text/html")

        return api


def _with_headers(send: Send, path: str) -> Send:
    """Add the security headers (and the UI's framing rules) to the gateway's own answers."""
    extra = SECURITY_HEADERS + (UI_HEADERS if not path.startswith("/api/") else ())

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            present = {name for name, _ in message["headers"]}
            message = {**message, "headers": [*message["headers"], *(h for h in extra if h[0] not in present)]}
        await send(message)

    return wrapped


def create_app(settings: GatewaySettings | None = None) -> ASGIApp:
    """The gateway as an ASGI app, traced (incoming trace context is continued)."""
    gateway = Gateway(settings or GatewaySettings())
    app: Any = OpenTelemetryMiddleware(gateway, excluded_urls="healthz,readyz")
    app.gateway = gateway
    traced: ASGIApp = app
    return traced
