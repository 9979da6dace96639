"""`http_server_request_duration_seconds`: a pure ASGI middleware, cheap enough for every request.

The route label is the route's template (`/api/billing/orders/{order_id}`),
read after the app answered from the route Starlette matched; never the raw
path, which would put ids in a label and grow without bound. A request no
route matches is `unmatched`. Label children are cached per (route, method,
status class), so a request costs two clock reads, a dict lookup and an
`observe` (docs/decisions.md, Common library has the figures).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from prometheus_client import Histogram
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tollgate_shared.metrics.catalogue import HTTP_REQUEST_DURATION

UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"

RouteOf = Callable[[Scope], str]


def route_template(scope: Scope, routes: Sequence[BaseRoute] = ()) -> str:
    """The template of the route that answered `scope`, else of one of `routes` that matches it, else `unmatched`.

    `routes` covers answers given before routing (a refused edge signature, a
    control character): the path is then matched here, which only such answers pay for.
    """
    route = scope.get("route")
    if route is None:
        partial = None
        for candidate in routes:
            match, _ = candidate.matches(scope)
            if match is Match.FULL:
                route = candidate
                break
            if match is Match.PARTIAL and partial is None:
                partial = candidate
        route = route or partial
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


class HttpMetrics:
    """Times every HTTP request of `app` into `http_server_request_duration_seconds` as `service`."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        service: str,
        routes: Sequence[BaseRoute] = (),
        route_of: RouteOf | None = None,
        histogram: Histogram = HTTP_REQUEST_DURATION,
    ) -> None:
        self.app = app
        self.service = service
        self.route_of: RouteOf = route_of or (lambda scope: route_template(scope, routes))
        self.histogram = histogram
        self._children: dict[tuple[str, str, int], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the client gets when the app raises before answering

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            self._observe(scope, status, time.perf_counter() - started)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        method = scope["method"] if scope["method"] in METHODS else OTHER_METHOD
        key = (self.route_of(scope), method, status // 100)
        child = self._children.get(key)
        if child is None:
            child = self.histogram.labels(self.service, method, key[0], f"{key[2]}xx")
            self._children[key] = child
        child.observe(seconds)
