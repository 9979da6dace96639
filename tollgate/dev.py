"""`tollgate dev`: the embedded default, all four services in one process.

SQLite files in the data folder and the in-process bus; the three services
listen on loopback ports chosen by the system and the gateway on
127.0.0.1:PORT forwards to them, so the same code paths run as when
distributed. All four services' metrics share one management port
(127.0.0.1:9464 unless told otherwise), told apart by their `service` label.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn

from gateway.settings import GatewaySettings
from tollgate.migrate import migrate
from tollgate.services import BACKEND_SERVICES, SERVICES, startup_settings
from tollgate_shared.bus.inprocess import InProcessBroker
from tollgate_shared.lifecycle import Shutdown
from tollgate_shared.metrics.listener import metrics_listener
from tollgate_shared.telemetry import setup_telemetry


class QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signals to its host (several share one loop)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind_loopback(port: int = 0) -> socket.socket:
    # IPPROTO_TCP, not 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets whose
    # protocol says TCP, and with Nagle on every answer written in two parts (headers,
    # body) waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.set_inheritable(True)
    return sock


def server(app: Any) -> QuietServer:
    # proxy_headers off: uvicorn would otherwise believe X-Forwarded-For from
    # 127.0.0.1 and let a local client choose its address; the gateway decides that.
    return QuietServer(
        uvicorn.Config(app, log_config=None, access_log=False, lifespan="on", http="httptools", proxy_headers=False)
    )


def prepare_environment(data_dir: Path) -> None:
    os.environ.setdefault("TOLLGATE_ENV", "development")
    os.environ["TOLLGATE_DATA_DIR"] = str(data_dir)
    # The embedded default has no broker; an AMQP URL in the shell would split it.
    os.environ.pop("TOLLGATE_AMQP_URL", None)


DEFAULT_METRICS_PORT = 9464


async def serve_embedded(port: int, metrics_port: int = DEFAULT_METRICS_PORT, metrics_host: str = "127.0.0.1") -> None:
    async with metrics_listener(metrics_host, metrics_port) as metrics_url:
        await _serve_services(port, metrics_url)


async def _serve_services(port: int, metrics_url: str) -> None:
    broker = InProcessBroker()
    sockets = {name: bind_loopback() for name in BACKEND_SERVICES}
    urls = {name: f"http://127.0.0.1:{sock.getsockname()[1]}" for name, sock in sockets.items()}
    # One switch for the process: SIGTERM makes every /readyz say `shutting_down` at once.
    shutdown = Shutdown(GatewaySettings().shutdown_grace_seconds)
    servers = {
        name: server(
            SERVICES[name].create_app(SERVICES[name].settings(auth_url=urls["auth"]), broker=broker, shutdown=shutdown)
        )
        for name in BACKEND_SERVICES
    }
    gateway_settings = GatewaySettings(
        auth_url=urls["auth"], billing_url=urls["billing"], invoicing_url=urls["invoicing"]
    )
    gateway_socket = bind_loopback(port)
    gateway_server = server(SERVICES["gateway"].create_app(gateway_settings, broker=broker, shutdown=shutdown))
    everyone = [*servers.values(), gateway_server]

    def stop() -> None:
        shutdown.begin()
        for each in everyone:
            each.should_exit = True

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    print(f"Tollgate (embedded) on http://127.0.0.1:{gateway_socket.getsockname()[1]}", flush=True)
    print(f"metrics of every service on {metrics_url}", flush=True)
    await asyncio.gather(
        *(servers[name].serve(sockets=[sockets[name]]) for name in BACKEND_SERVICES),
        gateway_server.serve(sockets=[gateway_socket]),
    )


def run_dev(port: int, data_dir: Path, *, metrics_port: int | None = None) -> None:
    prepare_environment(data_dir)
    # Every service's settings first: a mistake is told before anything is migrated or started.
    settings = {name: startup_settings(name) for name in SERVICES}
    setup_telemetry("tollgate", log_level=settings["gateway"].log_level)
    migrate(list(BACKEND_SERVICES))
    import uvloop

    common = settings["gateway"]
    uvloop.run(serve_embedded(port, metrics_port or common.metrics_port or DEFAULT_METRICS_PORT, common.metrics_host))
