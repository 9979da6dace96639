"""`tollgate stack`: the distributed system on this machine.

Four services as separate processes (billing with two replicas) against the
configured PostgreSQL and RabbitMQ, the gateway on 127.0.0.1:PORT balancing
across the billing replicas. Each process serves its metrics on a loopback
port of its own, from `--metrics-base-port` in the order of `plan`. It never
starts a finance approval service.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Mapping

from tollgate.migrate import migrate
from tollgate.services import BACKEND_SERVICES, SERVICES, startup_settings

DEFAULT_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:5432/tollgate_{service}"
DEFAULT_AMQP = "amqp://guest:guest@127.0.0.1:5672/"
BASE_PORT = 8101
METRICS_BASE_PORT = 9464


def stack_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Settings for every process: configured values (`base`, else this process's environment) win over
    local defaults."""
    env = dict(os.environ if base is None else base)
    env.setdefault("TOLLGATE_AMQP_URL", DEFAULT_AMQP)
    env.setdefault("TOLLGATE_ENV", "development")
    for service in BACKEND_SERVICES:
        env.setdefault(f"TOLLGATE_{service.upper()}_DATABASE_URL", DEFAULT_DATABASE.format(service=service))
    return env


def plan(port: int, base_port: int = BASE_PORT) -> list[tuple[str, str, int]]:
    """(service, instance name, port) of every process; billing runs twice."""
    processes = [
        ("auth", "auth-1", base_port),
        ("billing", "billing-1", base_port + 1),
        ("billing", "billing-2", base_port + 2),
        ("invoicing", "invoicing-1", base_port + 3),
    ]
    return [*processes, ("gateway", "gateway-1", port)]


def upstream_settings(processes: Iterable[tuple[str, str, int]]) -> dict[str, str]:
    urls: dict[str, list[str]] = {}
    for service, _, port in processes:
        if service != "gateway":
            urls.setdefault(service, []).append(f"http://127.0.0.1:{port}")
    return {f"TOLLGATE_{service.upper()}_URL": ",".join(addresses) for service, addresses in urls.items()}


def wait_ready(url: str, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (a loopback URL of our own)
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def metrics_ports(processes: Iterable[tuple[str, str, int]], metrics_base_port: int) -> dict[str, int]:
    """Instance name → its metrics port: consecutive ports from `metrics_base_port`, in the order of `processes`."""
    return {instance: metrics_base_port + offset for offset, (_, instance, _) in enumerate(processes)}


def serve_command(service: str, port: int, instance: str, *, metrics_port: int | None = None) -> list[str]:
    """`tollgate serve SERVICE` with this environment's interpreter (the child's pid is the server's own)."""
    command = [sys.executable, "-m", "tollgate.cli", "serve", service, "--port", str(port), "--instance", instance]
    return command if metrics_port is None else [*command, "--metrics-port", str(metrics_port)]


def run_stack(port: int, base_port: int = BASE_PORT, *, metrics_base_port: int = METRICS_BASE_PORT) -> int:
    env = stack_environment()
    processes = plan(port, base_port)
    metrics = metrics_ports(processes, metrics_base_port)
    env.update(upstream_settings(processes))
    os.environ.update({k: v for k, v in env.items() if k.startswith("TOLLGATE_")})
    # Every process's settings, checked here: a mistake is one line before anything starts,
    # not one per child after the others have started.
    for service in SERVICES:
        startup_settings(service)
    migrate(list(BACKEND_SERVICES))
    children = [
        subprocess.Popen(  # noqa: S603 (our own command)
            serve_command(service, service_port, instance, metrics_port=metrics[instance]), env=env
        )
        for service, instance, service_port in processes
    ]
    for instance, metrics_port in metrics.items():
        print(f"metrics of {instance} on http://127.0.0.1:{metrics_port}/metrics", flush=True)

    def stop(*_: object) -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()

    signal.signal(signal.SIGTERM, stop)
    try:
        if wait_ready(f"http://127.0.0.1:{port}/readyz"):
            print(f"Tollgate (distributed) on http://127.0.0.1:{port}", flush=True)
        else:
            print("Tollgate (distributed) did not become ready in time; see the logs above", file=sys.stderr)
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("a process of the stack ended; stopping the others", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
