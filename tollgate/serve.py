"""`tollgate serve SERVICE`: one service as its own process, the distributed way.

SIGTERM (DESIGN §10): the app's shutdown switch turns at once (`/readyz` 503,
consumers cancelled); the server stops accepting (a gateway takes a refused
connection to another replica) but keeps the open connections, answering what
comes on them with `Connection: close` so clients stop reusing them cleanly;
then uvicorn lets the requests in flight finish and the app's lifespan flushes
the outbox and closes.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
from types import FrameType

import uvicorn
import uvloop
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tollgate.services import SERVICES, startup_settings
from tollgate_shared.lifecycle import Shutdown
from tollgate_shared.metrics.listener import metrics_listener
from tollgate_shared.settings import SettingsError
from tollgate_shared.telemetry import setup_telemetry

STARTUP_FAILURE = 3  # what `uvicorn.run` exits with when the app did not start
CLOSE = (b"connection", b"close")


class CloseConnectionsWhenShuttingDown:
    """Every answer given once shutting down says `Connection: close` (uvicorn then closes after it)."""

    def __init__(self, app: ASGIApp, shutdown: Shutdown) -> None:
        self.app = app
        self.shutdown = shutdown

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def closing(message: Message) -> None:
            if message["type"] == "http.response.start" and self.shutdown.shutting_down:
                message = {**message, "headers": [*message.get("headers", []), CLOSE]}
            await send(message)

        await self.app(scope, receive, closing)


class GracefulServer(uvicorn.Server):
    """uvicorn whose exit signal also turns the app's shutdown switch, and which lets clients leave first.

    uvicorn alone runs the app's lifespan end only after HTTP drained; the app must
    know at once. And uvicorn closes idle keep-alive connections at once, which races
    a request a client is sending on one (a reset, a 502 at the gateway): here they
    stay open for up to the keep-alive timeout, each closed after its next answer.
    """

    def __init__(self, config: uvicorn.Config, shutdown: Shutdown) -> None:
        super().__init__(config)
        self.switch = shutdown  # not `self.shutdown`: uvicorn's own method of that name runs the drain

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.switch.begin()
        super().handle_exit(sig, frame)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.switch.begin()
        for server in self.servers:
            server.close()  # refused from now on; uvicorn's shutdown closes them again, harmlessly
        until = time.monotonic() + min(self.config.timeout_keep_alive + 1, self.switch.drain_left())
        while self.server_state.connections and time.monotonic() < until and not self.force_exit:  # noqa: ASYNC110 (uvicorn polls its connection set too)
            await asyncio.sleep(0.05)
        # Whatever is left of the drain for the requests still in flight.
        self.config.timeout_graceful_shutdown = int(self.switch.drain_left())
        await super().shutdown(sockets)


def run_service(
    name: str,
    host: str,
    port: int,
    instance: str | None = None,
    *,
    metrics_port: int | None = None,
    metrics_host: str | None = None,
) -> None:
    entry = SERVICES[name]
    settings = startup_settings(name)
    if not settings.amqp_url:
        # The in-process bus lives in one process: `tollgate dev` is the way without a broker.
        raise SettingsError(f"tollgate serve {name} runs one service of the distributed system: set TOLLGATE_AMQP_URL")
    setup_telemetry(f"tollgate-{name}", log_level=settings.log_level)
    shutdown = Shutdown(settings.shutdown_grace_seconds)
    app = entry.create_app(settings, instance=instance or f"{name}@{os.uname().nodename}:{port}", shutdown=shutdown)
    config = uvicorn.Config(
        CloseConnectionsWhenShuttingDown(app, shutdown),
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        proxy_headers=False,
        # Requests in flight at SIGTERM get this long; the rest of the grace is the outbox's and closing's.
        timeout_graceful_shutdown=int(shutdown.drain_seconds),
    )
    server = GracefulServer(config, shutdown)
    metrics_port = metrics_port or settings.metrics_port
    metrics_host = metrics_host or settings.metrics_host

    async def serve() -> None:
        if metrics_port is None:
            await server.serve()
            return
        # Its own port, on this event loop, never the API's (tollgate_shared/metrics/listener.py).
        async with metrics_listener(metrics_host, metrics_port):
            await server.serve()

    uvloop.run(serve())
    if not server.started:
        sys.exit(STARTUP_FAILURE)  # as `uvicorn.run` does: the app's startup failed
