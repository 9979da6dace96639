"""A throwaway database, the auth service as its own process, and where the CPU went."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg

from bench.common import (
    BackendSampler,
    admin_execute,
    database_url,
    dsn,
    free_port,
    load_average,
    machine_busy_seconds,
    process_cpu_seconds,
)
from bench.common import machine as common_machine

__all__ = ["BackendSampler", "free_port", "load_average", "machine_busy_seconds", "process_cpu_seconds"]


# --- the database ------------------------------------------------------------


def new_database_name() -> str:
    return f"bench_auth_{uuid.uuid4().hex[:10]}"


async def create_database(admin_url: str, name: str) -> str:
    """Create and migrate database `name` (alembic, as `tollgate migrate` does); answer its URL."""
    from auth.app import MIGRATIONS
    from tollgate_shared.migrations import upgrade

    if not name.startswith("bench_auth_"):
        raise ValueError(f"bench databases are named bench_auth_*, not {name}")
    await admin_execute(admin_url, f'CREATE DATABASE "{name}"')
    url = database_url(admin_url, name)
    # Alembic's env runs its own event loop: keep it off this one.
    await asyncio.wait_for(asyncio.to_thread(upgrade, MIGRATIONS, url), timeout=120)
    return url


async def drop_database(admin_url: str, name: str) -> None:
    if not name.startswith("bench_auth_"):
        raise ValueError(f"refusing to drop {name}: not an auth bench database")
    await admin_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def backend_pids(url: str) -> list[int]:
    """PostgreSQL backends serving database `url` (the service's pool), not this query's own."""
    connection = await asyncpg.connect(dsn(url), timeout=10)
    try:
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [int(row["pid"]) for row in rows]
    finally:
        await connection.close()


async def outbox_state(url: str) -> dict[str, int]:
    """Events the service recorded and how many its relay has not published yet."""
    connection = await asyncpg.connect(dsn(url), timeout=10)
    try:
        row = await connection.fetchrow(
            "SELECT count(*) AS total, count(*) FILTER (WHERE sent_at IS NULL) AS unsent FROM outbox"
        )
        assert row is not None
        return {"total": int(row["total"]), "unsent": int(row["unsent"])}
    finally:
        await connection.close()


# --- the service -------------------------------------------------------------
@dataclass
class ServiceProcess:
    """`tollgate serve auth` in its own process (uvicorn, uvloop, httptools), on loopback."""

    database_url: str
    amqp_url: str
    internal_key: str
    secret_key: str
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def environment(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            # Nothing of the caller's Tollgate or tracing configuration leaks in.
            if not key.startswith(("TOLLGATE_", "OTEL_"))
        }
        env.update(
            {
                # Production mode with real (random) secrets: the configuration that ships.
                "TOLLGATE_ENV": "production",
                "TOLLGATE_SECRET_KEY": self.secret_key,
                "TOLLGATE_INTERNAL_KEY": self.internal_key,
                "TOLLGATE_AUTH_DATABASE_URL": self.database_url,
                "TOLLGATE_AMQP_URL": self.amqp_url,
                "TOLLGATE_LOG_LEVEL": "WARNING",
            }
        )
        return env

    def start(self) -> None:
        # The interpreter of this uv environment, so no `uv run` resyncs the shared .venv meanwhile;
        # the same as `uv run tollgate serve auth --port P`.
        command = [sys.executable, "-m", "tollgate.cli", "serve", "auth", "--port", str(self.port)]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, env=self.environment(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    async def wait_ready(self, within: float = 60.0) -> None:
        deadline = time.monotonic() + within
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            while True:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise RuntimeError(f"the auth service exited ({self.process.returncode}):\n{self.log_tail()}")
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with session.get(f"{self.url}/readyz") as answer:
                        if answer.status == 200:
                            return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the auth service was not ready within {within:.0f}s:\n{self.log_tail()}")
                await asyncio.sleep(0.2)

    def log_count(self, needle: str) -> int:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace").count(needle)
        return 0

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    async def stop(self, grace: float = 20.0) -> int | None:
        """SIGTERM (uvicorn's graceful shutdown), then SIGKILL after `grace` seconds; only our own pid."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.to_thread(self.process.wait, grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return await asyncio.to_thread(self.process.wait, 10)


# --- CPU accounting ------------------------------------------------------------
@dataclass(frozen=True)
class CpuSnapshot:
    at: float
    machine: float
    service: float
    client: float
    database: dict[int, float]


def cpu_snapshot(service_pid: int, database_pids: list[int]) -> CpuSnapshot:
    database = {pid: seconds for pid in database_pids if (seconds := process_cpu_seconds(pid)) is not None}
    return CpuSnapshot(
        at=time.monotonic(),
        machine=machine_busy_seconds(),
        service=process_cpu_seconds(service_pid) or 0.0,
        client=time.process_time(),
        database=database,
    )


def cpu_usage(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float]:
    """Cores used on average between two snapshots: the service, its PostgreSQL backends,
    this load generator, and everything else on the machine (the noise)."""
    seconds = after.at - before.at
    if seconds <= 0:
        return {}
    # A backend that appeared meanwhile (the pool grew) counts from zero.
    database = sum(value - before.database.get(pid, 0.0) for pid, value in after.database.items())
    service = after.service - before.service
    client = after.client - before.client
    machine = after.machine - before.machine
    return {
        "service_cores": service / seconds,
        "database_cores": database / seconds,
        "client_cores": client / seconds,
        "other_cores": max(machine - service - client - database, 0.0) / seconds,
        "machine_cores": machine / seconds,
        "service_cpu_seconds": service,
        "database_cpu_seconds": database,
        "client_cpu_seconds": client,
    }


# --- the machine ---------------------------------------------------------------
def machine() -> dict[str, object]:
    described = common_machine()
    return {"cpus": described.pop("nproc"), **described}
