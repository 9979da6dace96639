"""The system under test as separate processes, laid out as `tollgate stack` lays it out (auth, two billing
replicas, invoicing, the gateway balancing across the replicas), plus the reference finance service."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.billing.stack import consumers_of
from bench.common import ROOT, ServerProcess
from chaos.infrastructure import FINANCE_USER, Infrastructure
from tollgate.services import BACKEND_SERVICES
from tollgate.stack import plan, serve_command, stack_environment, upstream_settings
from tollgate.throwaway import free_port_pair

FINANCE_QUEUE = "finance.offline-payments"
FINANCE_RULES = ROOT / "finance_approval" / "rules.example.toml"
FINANCE = "finance"


def environment(
    infra: Infrastructure, gateway_port: int, processes: list[tuple[str, str, int]], retry_delays: str
) -> dict[str, str]:
    """The settings every process gets: `tollgate stack`'s, with the run's servers and production secrets."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TOLLGATE_", "OTEL_"))}
    base.update(
        {
            # Production with real (random) secrets and the sandbox asked for: the configuration that ships.
            "TOLLGATE_ENV": "production",
            "TOLLGATE_SECRET_KEY": secrets.token_urlsafe(32),
            "TOLLGATE_INTERNAL_KEY": secrets.token_urlsafe(32),
            "TOLLGATE_AMQP_URL": infra.amqp_url,
            "TOLLGATE_PAYMENT_PROVIDER": "sandbox",
            "TOLLGATE_PUBLIC_URL": f"http://127.0.0.1:{gateway_port}",
            "TOLLGATE_FINANCE_BROKER_USER": FINANCE_USER,
            # Every sign-up and login of the load comes from one address.
            "TOLLGATE_AUTH_RATE_PER_MINUTE": "100000",
            # Tokens outlive the run: a client logs in once.
            "TOLLGATE_ACCESS_TOKEN_MINUTES": "60",
            "TOLLGATE_LOG_LEVEL": "WARNING",
            # Retry tiers shorter than the outages: only a consumer that pauses while its database is away
            # (DESIGN §10) parks nothing.
            "TOLLGATE_BUS_RETRY_DELAYS": retry_delays,
            **{f"TOLLGATE_{s.upper()}_DATABASE_URL": infra.service_database_url(s) for s in BACKEND_SERVICES},
        }
    )
    env = stack_environment(base)
    env.update(upstream_settings(processes))
    return env


@dataclass
class System:
    """Every process of the run by instance name (`auth-1`, `billing-1`, `billing-2`, `invoicing-1`,
    `gateway-1`, `finance`), each logging to `log_dir/<name>.log`."""

    infra: Infrastructure
    log_dir: Path
    retry_delays: str = "1,2,4"
    gateway_port: int = 0
    env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, ServerProcess] = field(default_factory=dict)

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def plan(self) -> None:
        self.gateway_port, base_port = free_port_pair()
        layout = plan(self.gateway_port, base_port)
        self.env = environment(self.infra, self.gateway_port, layout, self.retry_delays)
        for service, instance, port in layout:
            command = serve_command(service, port, instance)
            self.processes[instance] = ServerProcess(
                instance, command, self.env, self.log_dir / f"{instance}.log", port
            )
        finance_env = {k: v for k, v in self.env.items() if not k.startswith("TOLLGATE_")}
        finance_env.update(
            TOLLGATE_FINANCE_AMQP_URL=self.infra.finance_amqp_url,
            TOLLGATE_FINANCE_RULES=str(FINANCE_RULES),
            TOLLGATE_FINANCE_HELD_FILE=str(self.log_dir / "finance-held.sqlite3"),
            TOLLGATE_FINANCE_LOG_LEVEL="WARNING",
        )
        finance_command = [sys.executable, "-m", "finance_approval", "run"]
        self.processes[FINANCE] = ServerProcess(FINANCE, finance_command, finance_env, self.log_dir / "finance.log", 0)

    async def migrate(self) -> None:
        """`tollgate migrate` with the run's settings (it creates the databases)."""
        command = [sys.executable, "-m", "tollgate.cli", "migrate"]
        done = await asyncio.to_thread(
            subprocess.run, command, env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
        )
        (self.log_dir / "migrate.log").write_text(done.stdout + done.stderr)
        if done.returncode != 0:
            raise RuntimeError(f"tollgate migrate failed; see {self.log_dir / 'migrate.log'}")

    async def start(self, name: str) -> float:
        """Start one process and wait until it is ready; answer the seconds that took."""
        started = time.monotonic()
        process = self.processes[name]
        process.start()
        if name == FINANCE:
            await self._finance_consuming(process)
        else:
            await process.wait_ready()
        return time.monotonic() - started

    async def start_all(self) -> None:
        """The services at once (start-up is CPU-bound imports), then the finance service: it needs the
        queue billing declares."""
        await asyncio.gather(*(self.start(name) for name in self.processes if name != FINANCE))
        await self.start(FINANCE)

    async def _finance_consuming(self, process: ServerProcess, within: float = 60.0) -> None:
        deadline = time.monotonic() + within
        while await consumers_of(self.infra.amqp_url, FINANCE_QUEUE) < 1:
            if not process.alive():
                raise RuntimeError(f"the finance service exited:\n{process.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the finance service did not consume within {within:.0f}s")
            await asyncio.sleep(0.25)

    def kill(self, name: str) -> None:
        """SIGKILL: no shutdown, no drain (what a crash or the OOM killer does)."""
        process = self.processes[name].process
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=10)

    async def stop(self, name: str) -> None:
        """SIGTERM and the graceful shutdown (what a deploy does)."""
        await self.processes[name].stop()

    async def stop_all(self) -> None:
        await self.stop(FINANCE)
        await asyncio.gather(*(self.stop(name) for name in self.processes if name != FINANCE))
