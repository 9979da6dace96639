"""`tollgate serve SERVICE`: one service as its own process, the distributed way."""

from __future__ import annotations

import os
import sys

import uvicorn

from tollgate.services import SERVICES, startup_settings
from tollgate_shared.metrics.listener import metrics_listener
from tollgate_shared.settings import SettingsError
from tollgate_shared.telemetry import setup_telemetry


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
    app = entry.create_app(settings, instance=instance or f"{name}@{os.uname().nodename}:{port}")
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            loop="uvloop",
            http="httptools",
            log_config=None,
            access_log=False,
            proxy_headers=False,
        )
    )
    metrics_port = metrics_port or settings.metrics_port
    metrics_host = metrics_host or settings.metrics_host

    async def serve() -> None:
        if metrics_port is None:
            await server.serve()
            return
        # Its own port, on this event loop, never the API's (tollgate_shared/metrics/listener.py).
        async with metrics_listener(metrics_host, metrics_port):
            await server.serve()

    import uvloop

    uvloop.run(serve())
    if not server.started:
        sys.exit(STARTUP_FAILURE)  # as `uvicorn.run` does: the app's startup failed


STARTUP_FAILURE = 3
