"""`tollgate serve SERVICE`: one service as its own process, the distributed way."""

from __future__ import annotations

import os

import uvicorn

from tollgate.services import SERVICES, startup_settings
from tollgate_shared.settings import SettingsError
from tollgate_shared.telemetry import setup_telemetry


def run_service(name: str, host: str, port: int, instance: str | None = None) -> None:
    entry = SERVICES[name]
    settings = startup_settings(name)
    if not settings.amqp_url:
        # The in-process bus lives in one process: `tollgate dev` is the way without a broker.
        raise SettingsError(f"tollgate serve {name} runs one service of the distributed system: set TOLLGATE_AMQP_URL")
    setup_telemetry(f"tollgate-{name}", log_level=settings.log_level)
    app = entry.create_app(settings, instance=instance or f"{name}@{os.uname().nodename}:{port}")
    uvicorn.run(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        proxy_headers=False,
    )
