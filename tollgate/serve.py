"""`tollgate serve SERVICE`: one service as its own process, the distributed way."""

from __future__ import annotations

import os
import sys
from types import FrameType

import uvicorn

from tollgate.services import SERVICES, startup_settings
from tollgate_shared.lifecycle import Shutdown
from tollgate_shared.settings import SettingsError
from tollgate_shared.telemetry import setup_telemetry

STARTUP_FAILURE = 3  # what `uvicorn.run` exits with when the app did not start


class GracefulServer(uvicorn.Server):
    """uvicorn whose exit signal also turns the app's shutdown switch, at once.

    uvicorn alone stops accepting, lets the requests in flight finish and only then
    runs the app's lifespan end; the app must know before (`/readyz` 503, consumers
    cancelled while HTTP drains).
    """

    def __init__(self, config: uvicorn.Config, shutdown: Shutdown) -> None:
        super().__init__(config)
        self.switch = shutdown  # not `self.shutdown`: uvicorn's own method of that name runs the drain

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.switch.begin()
        super().handle_exit(sig, frame)


def run_service(name: str, host: str, port: int, instance: str | None = None) -> None:
    entry = SERVICES[name]
    settings = startup_settings(name)
    if not settings.amqp_url:
        # The in-process bus lives in one process: `tollgate dev` is the way without a broker.
        raise SettingsError(f"tollgate serve {name} runs one service of the distributed system: set TOLLGATE_AMQP_URL")
    setup_telemetry(f"tollgate-{name}", log_level=settings.log_level)
    shutdown = Shutdown(settings.shutdown_grace_seconds)
    app = entry.create_app(settings, instance=instance or f"{name}@{os.uname().nodename}:{port}", shutdown=shutdown)
    config = uvicorn.Config(
        app,
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
    server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)
