"""`tollgate stack`: the distributed system on this machine.

Four services as separate processes (billing with `--billing-replicas`, two by
default) against the configured PostgreSQL and RabbitMQ, the gateway on
127.0.0.1:PORT balancing across the billing replicas. Each process serves its
metrics on a loopback port of its own, from `--metrics-base-port` in the order
of `plan`. A process that ends is started again after a pause that doubles
while it keeps ending (1 s up to 30 s), and says so; the stack itself stops
only on Ctrl-C or SIGTERM, and then stops everything. It never starts a
finance approval service.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tollgate.migrate import migrate
from tollgate.services import BACKEND_SERVICES, SERVICES, startup_settings

DEFAULT_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:5432/tollgate_{service}"
DEFAULT_AMQP = "amqp://guest:guest@127.0.0.1:5672/"
BASE_PORT = 8101
BILLING_REPLICAS = 2
METRICS_BASE_PORT = 9464
# A process that ran this long before it ended is started again at once, not after a longer pause.
STABLE_SECONDS = 60.0
FIRST_PAUSE, LONGEST_PAUSE = 1.0, 30.0


def stack_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Settings for every process: configured values (`base`, else this process's environment) win over
    local defaults."""
    env = dict(os.environ if base is None else base)
    env.setdefault("TOLLGATE_AMQP_URL", DEFAULT_AMQP)
    env.setdefault("TOLLGATE_ENV", "development")
    for service in BACKEND_SERVICES:
        env.setdefault(f"TOLLGATE_{service.upper()}_DATABASE_URL", DEFAULT_DATABASE.format(service=service))
    return env


def plan(port: int, base_port: int = BASE_PORT, billing_replicas: int = BILLING_REPLICAS) -> list[tuple[str, str, int]]:
    """(service, instance name, port) of every process: auth on `base_port`, the billing replicas on the
    ports after it, then invoicing; the gateway on `port`."""
    billing = [("billing", f"billing-{n}", base_port + n) for n in range(1, billing_replicas + 1)]
    return [
        ("auth", "auth-1", base_port),
        *billing,
        ("invoicing", "invoicing-1", base_port + billing_replicas + 1),
        ("gateway", "gateway-1", port),
    ]


def upstream_settings(processes: Iterable[tuple[str, str, int]]) -> dict[str, str]:
    urls: dict[str, list[str]] = {}
    for service, _, port in processes:
        if service != "gateway":
            urls.setdefault(service, []).append(f"http://127.0.0.1:{port}")
    return {f"TOLLGATE_{service.upper()}_URL": ",".join(addresses) for service, addresses in urls.items()}


def answers_200(url: str, timeout: float = 2) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (a loopback URL of our own)
            return bool(response.status == 200)
    except OSError:
        return False


def metrics_ports(processes: Iterable[tuple[str, str, int]], metrics_base_port: int) -> dict[str, int]:
    """Instance name → its metrics port: consecutive ports from `metrics_base_port`, in the order of `processes`."""
    return {instance: metrics_base_port + offset for offset, (_, instance, _) in enumerate(processes)}


def serve_command(service: str, port: int, instance: str, *, metrics_port: int | None = None) -> list[str]:
    """`tollgate serve SERVICE` with this environment's interpreter (the child's pid is the server's own)."""
    command = [sys.executable, "-m", "tollgate.cli", "serve", service, "--port", str(port), "--instance", instance]
    return command if metrics_port is None else [*command, "--metrics-port", str(metrics_port)]


def say(message: str) -> None:
    print(f"tollgate stack: {message}", file=sys.stderr, flush=True)


@dataclass
class Child:
    """One process of the stack, and what its supervisor knows of it."""

    instance: str
    command: list[str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    ended_in_a_row: int = 0
    restart_at: float | None = None

    def start(self, env: Mapping[str, str]) -> None:
        self.process = subprocess.Popen(self.command, env=dict(env))  # noqa: S603 (our own command)
        self.started_at = time.monotonic()
        self.restart_at = None
        say(f"{self.instance} started (pid {self.process.pid})")

    def tend(self, env: Mapping[str, str], now: float) -> None:
        """Start it again if it ended and its pause is over; schedule that pause when it has just ended."""
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.start(env)
            return
        process = self.process
        code = process.poll() if process is not None else None
        if process is None or code is None:
            return
        ran = now - self.started_at
        self.ended_in_a_row = 1 if ran >= STABLE_SECONDS else self.ended_in_a_row + 1
        pause = min(LONGEST_PAUSE, FIRST_PAUSE * 2 ** (self.ended_in_a_row - 1))
        self.restart_at = now + pause
        say(f"{self.instance} (pid {process.pid}) ended with {_exit(code)} after {ran:.0f}s; again in {pause:.0f}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()

    def wait(self, timeout: float) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _exit(code: int) -> str:
    if code < 0:
        return signal.Signals(-code).name
    return f"code {code}"


class Stopped(Exception):
    """SIGTERM reached the stack."""


def _stopped(*_: object) -> None:
    raise Stopped


def run_stack(
    port: int,
    base_port: int = BASE_PORT,
    billing_replicas: int = BILLING_REPLICAS,
    *,
    metrics_base_port: int = METRICS_BASE_PORT,
) -> int:
    env = stack_environment()
    processes = plan(port, base_port, billing_replicas)
    metrics = metrics_ports(processes, metrics_base_port)
    env.update(upstream_settings(processes))
    os.environ.update({k: v for k, v in env.items() if k.startswith("TOLLGATE_")})
    # Every process's settings, checked here: a mistake is one line before anything starts,
    # not one per child after the others have started.
    grace = max(startup_settings(service).shutdown_grace_seconds for service in SERVICES)
    migrate(list(BACKEND_SERVICES))
    children = [
        Child(instance, serve_command(service, at, instance, metrics_port=metrics[instance]))
        for service, instance, at in processes
    ]
    for instance, metrics_port in metrics.items():
        print(f"metrics of {instance} on http://127.0.0.1:{metrics_port}/metrics", flush=True)
    signal.signal(signal.SIGTERM, _stopped)
    try:
        for child in children:
            child.start(env)
        announced, started = False, time.monotonic()
        while True:
            now = time.monotonic()
            for child in children:
                child.tend(env, now)
            # Each process answers for itself: the gateway is ready without the services behind it.
            if not announced and all(answers_200(f"http://127.0.0.1:{at}/readyz", timeout=1) for _, _, at in processes):
                print(f"Tollgate (distributed) on http://127.0.0.1:{port}", flush=True)
                announced = True
            elif not announced and now - started > 90:
                say("not ready after 90s; see the logs above (still trying)")
                started = float("inf")
            time.sleep(0.5)
    except (KeyboardInterrupt, Stopped):
        say("stopping")
        return 0
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # stopping already: a second SIGTERM must not cut it short
        for child in children:
            child.stop()
        for child in children:
            child.wait(timeout=grace + 5)  # each drains within its grace (SIGTERM, DESIGN §10), else killed
