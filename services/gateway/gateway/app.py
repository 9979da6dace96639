"""The edge gateway: the only entry point for web clients.

A plain ASGI callable in front: paths of the services' public API go straight
to the streaming proxy (no framework routing on the hot path); everything else
(health, `/api/whoami`, the UI) is a small FastAPI app.

Ready once the IP rule snapshot is loaded, whatever the services behind it: a
service that is down is its own routes' 503, not the edge's (DESIGN §10).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.access import EdgeAccess, Refusal
from gateway.client_address import Address, client_address, parse_address, trusted_ranges
from gateway.connections import BoundedLifetimeConnector
from gateway.cors import answer_preflight, is_preflight, origin_of, with_cors
from gateway.headers import SECURITY_HEADERS, UI_HEADERS
from gateway.ip_index import IpRuleIndex
from gateway.problems import send_problem
from gateway.proxy import ProxySettings, proxy, request_id_of
from gateway.rate_limit import RateLimiter
from gateway.resolver import HostsFileResolver, Resolver, SystemResolver
from gateway.routes import route, route_label
from gateway.rule_sync import RuleSync
from gateway.settings import GatewaySettings
from gateway.ui_files import add_ui_routes
from gateway.upstreams import Ejection, Upstream
from tollgate_shared.auth_upstream import fetch_signed_json
from tollgate_shared.bus import Bus
from tollgate_shared.bus.inprocess import InProcessBroker
from tollgate_shared.errors import install_problem_handlers, problem_response
from tollgate_shared.health import broker_state
from tollgate_shared.jwks import JwksCache
from tollgate_shared.lifecycle import Shutdown
from tollgate_shared.metrics.catalogue import GATEWAY_RULES_AGE
from tollgate_shared.metrics.http import HttpMetrics, route_template
from tollgate_shared.metrics.runtime import watch_service
from tollgate_shared.no_store import with_no_store
from tollgate_shared.revocations import RevokedSessions
from tollgate_shared.service import build_bus, start_bus_until_up
from tollgate_shared.telemetry import FASTAPI_NATIVE_TELEMETRY_OFF, traced_asgi


class Gateway:
    def __init__(
        self,
        settings: GatewaySettings,
        *,
        broker: InProcessBroker | None = None,
        instance: str = "gateway",
        shutdown: Shutdown | None = None,
    ) -> None:
        self.settings = settings
        self.instance = instance
        # Turned by SIGTERM (`tollgate serve`): /readyz 503 while uvicorn drains the proxied requests.
        self.shutdown = shutdown or Shutdown(settings.shutdown_grace_seconds)
        self.broker = broker
        self.index = IpRuleIndex()
        self.revoked = RevokedSessions(remember_seconds=settings.access_token_minutes * 60 + 60)
        self.jwks = JwksCache(lambda: self.fetch_from_auth("/api/auth/jwks.json"))
        self.proxy_settings = ProxySettings(settings.internal_key.get_secret_value().encode(), settings.max_body_bytes)
        self.access = EdgeAccess(
            jwks=self.jwks,
            index=self.index,
            revoked=self.revoked,
            limiter=RateLimiter(settings.auth_rate_per_minute),
            internal_key=self.proxy_settings.internal_key,
        )
        self.sync = RuleSync(self.index, self.revoked, self.fetch_from_auth)
        self.bus: Bus | None = None
        self.bus_started = asyncio.Event()
        self.trusted = trusted_ranges(settings.trusted_networks())
        self.cors_origins = settings.allowed_origins()
        self.upstreams = _upstreams(settings)
        self.timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=settings.upstream_connect_timeout, sock_read=settings.upstream_timeout
        )
        self.session: aiohttp.ClientSession | None = None
        self.api = self._build_api()

    def client(self, scope: Scope) -> tuple[Address | None, str]:
        """The client address, parsed once per request, and its text (the raw peer when unparsable)."""
        peer = (scope.get("client") or ("", 0))[0]
        if self.trusted:
            forwarded = [v.decode("latin-1") for n, v in scope["headers"] if n == b"x-forwarded-for"]
            address = client_address(peer, forwarded, self.trusted)
        else:  # X-Forwarded-For counts only from trusted proxies: no need to read it
            address = parse_address(peer)
        return address, address.text if address is not None else peer

    def client_ip(self, scope: Scope) -> str:
        return self.client(scope)[1]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.cors_origins:
            origin = origin_of(scope)
            if origin in self.cors_origins:
                assert origin is not None
                if is_preflight(scope):
                    await answer_preflight(send, origin)
                    return
                send = with_cors(send, origin)
        if scope["type"] == "http":
            service = route(scope["path"])
            if service is not None:
                assert self.session is not None, "the gateway's lifespan has not run"
                address, client_ip = self.client(scope)
                decision = await self.access.check(scope, address, client_ip)
                if isinstance(decision, Refusal):
                    await send_problem(
                        send,
                        decision.status,
                        decision.code,
                        decision.detail,
                        request_id_of(scope),
                        list(decision.headers),
                        title=decision.title,
                        fields=decision.fields,
                    )
                    return
                await proxy(
                    scope,
                    receive,
                    send,
                    upstream=self.upstreams[service],
                    session=self.session,
                    settings=self.proxy_settings,
                    client_ip=client_ip,
                    principal=decision.principal,
                    client_timeout=self.timeout,
                )
                return
            await self.api(scope, receive, _with_headers(send, scope["path"]))
            return
        await self.api(scope, receive, send)

    async def fetch_from_auth(self, path: str) -> dict[str, Any]:
        """GET one of auth's endpoints the gateway itself needs (keys, rules)."""
        assert self.session is not None
        return await fetch_signed_json(
            self.session,
            self.upstreams["auth"].order(),
            path,
            key=self.proxy_settings.internal_key,
            caller=self.instance,
        )

    async def find_endpoints(self) -> None:
        """Resolve every service's names once before serving (a slow resolver does not hold the start up:
        until a name resolves, its URL is used as written)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(upstream.refresh() for upstream in self.upstreams.values() if upstream.has_names)),
                timeout=self.settings.upstream_resolve_interval,
            )

    def watch_endpoints(self) -> list[asyncio.Task[None]]:
        """Re-resolve the names and health-check every endpoint, for as long as the gateway runs."""
        assert self.session is not None
        settings = self.settings
        tasks = []
        for name, upstream in self.upstreams.items():
            if upstream.has_names:
                resolving = upstream.keep_resolving(settings.upstream_resolve_interval)
                tasks.append(asyncio.create_task(resolving, name=f"gateway-resolve-{name}"))
            checking = upstream.keep_checking(
                self.session, settings.upstream_health_interval, settings.upstream_health_timeout
            )
            tasks.append(asyncio.create_task(checking, name=f"gateway-health-{name}"))
        return tasks

    async def _read_rules_age(self) -> None:
        GATEWAY_RULES_AGE.labels("gateway").set(self.sync.rules_age())

    def _build_api(self) -> FastAPI:
        @contextlib.asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            connector = BoundedLifetimeConnector(lifetime=self.settings.upstream_connection_lifetime)
            self.session = aiohttp.ClientSession(
                connector=connector, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar()
            )
            await self.find_endpoints()
            self.bus = build_bus(self.settings, broker=self.broker, instance=self.instance)
            self.bus.subscribe(self.sync.subscription())
            self.bus.on_reconnect(self.sync.on_reconnect)
            tasks = [
                asyncio.create_task(start_bus_until_up(self.bus, self.bus_started), name="gateway-bus"),
                asyncio.create_task(self.sync.keep_in_sync(), name="gateway-rule-sync"),
                *self.watch_endpoints(),
            ]
            stop_watching = watch_service("gateway", bus=self.bus, readers=[("rules", self._read_rules_age)])
            try:
                yield
            finally:
                self.shutdown.begin()  # already turned by a signal; not when a test stops the server
                stop_watching()
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                await self.bus.close()
                await self.session.close()

        api = FastAPI(
            title="Tollgate gateway",
            lifespan=lifespan,
            openapi_url=None,
            docs_url=None,
            redoc_url=None,
            telemetry=FASTAPI_NATIVE_TELEMETRY_OFF,
        )
        install_problem_handlers(api)

        @api.get("/healthz", include_in_schema=False)
        async def healthz() -> dict[str, str]:
            return {"status": "ok"}

        @api.get("/readyz", include_in_schema=False)
        async def readyz() -> JSONResponse:
            """Ready once the IP rules are loaded; the broker is reported, the services behind are not asked."""
            bus = self.bus
            details: dict[str, Any] = {
                "broker": broker_state(self.bus_started.is_set(), bus is not None and bus.is_ready())
            }
            if self.shutdown.shutting_down:
                return problem_response(503, "shutting_down", "Shutting down", **details)
            checks = {"ip_rules": self.index.loaded}
            if all(checks.values()):
                return JSONResponse({"status": "ready", "checks": checks, **details})
            return problem_response(503, "not_ready", "Not ready", checks=checks, **details)

        @api.get("/api/whoami")
        async def whoami(request: Request) -> dict[str, str]:
            """The client address as the gateway sees it (the IP-allowlist diagnostic)."""
            return {"ip": self.client_ip(request.scope)}

        add_ui_routes(api)  # after the routes above: the UI's pages answer only what is left
        return api


def _upstreams(settings: GatewaySettings) -> dict[str, Upstream]:
    resolver: Resolver = SystemResolver()
    if settings.upstream_hosts_file:
        resolver = HostsFileResolver(Path(settings.upstream_hosts_file), resolver)
    ejection = Ejection(settings.upstream_ejection_seconds, settings.upstream_ejection_max_seconds)
    return {
        name: Upstream(name, urls, resolver=resolver, ejection=ejection)
        for name, urls in settings.upstream_urls().items()
    }


def _with_headers(send: Send, path: str) -> Send:
    """Add the security headers (and the UI's framing rules, or the API's no-store) to the gateway's own answers."""
    api = path == "/api" or path.startswith("/api/")
    extra = SECURITY_HEADERS + (() if api else UI_HEADERS)

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            present = {name for name, _ in message["headers"]}
            headers = [*message["headers"], *(h for h in extra if h[0] not in present)]
            message = {**message, "headers": with_no_store(headers) if api else headers}
        await send(message)

    return wrapped


def _metrics_route(scope: Scope) -> str:
    """A forwarded request's public prefix, else the gateway's own route (health, whoami, the UI's pages)."""
    return route_label(scope["path"]) or route_template(scope)


def create_app(
    settings: GatewaySettings | None = None,
    *,
    broker: InProcessBroker | None = None,
    instance: str = "gateway",
    shutdown: Shutdown | None = None,
) -> ASGIApp:
    """The gateway as an ASGI app, traced (incoming trace context is continued)."""
    gateway = Gateway(settings or GatewaySettings(), broker=broker, instance=instance, shutdown=shutdown)
    app: Any = HttpMetrics(traced_asgi(gateway), service="gateway", route_of=_metrics_route)
    app.gateway = gateway
    traced: ASGIApp = app
    return traced
