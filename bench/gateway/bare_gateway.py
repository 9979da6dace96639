"""The gateway without its OpenTelemetry instrumentation: to price the tracing apart.

    TOLLGATE_AUTH_URL=... python -m bench.gateway.bare_gateway --port 9002

The same `gateway.app.Gateway` that `tollgate serve gateway` runs (token check,
IP decision, rate limit, the aiohttp proxy, the rule sync over RabbitMQ), served
the same way (uvicorn, uvloop, httptools), but not wrapped in the ASGI
`OpenTelemetryMiddleware` and without `setup_telemetry` (no tracer provider: the
proxy's `traceparent` injection finds no span and adds nothing), only the JSON
logs. (The aiohttp client is not instrumented in the shipped gateway either.)
Configured by the same environment.
"""

from __future__ import annotations

import argparse
import os

import uvicorn

from gateway.app import Gateway
from gateway.settings import GatewaySettings
from tollgate_shared.telemetry import setup_logging


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.gateway.bare_gateway", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    settings = GatewaySettings()
    setup_logging("gateway", settings.log_level)
    gateway = Gateway(settings, instance=f"gateway-bare@{os.uname().nodename}:{args.port}")
    uvicorn.run(
        gateway, host="127.0.0.1", port=args.port, loop="uvloop", http="httptools", log_config=None, access_log=False
    )


if __name__ == "__main__":
    main()
