"""A throwaway database, the auth service as its own process, and where the CPU went."""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from bench.common import (
    BackendSampler,
    ServerProcess,
    admin_execute,
    backend_pids,
    database_url,
    dsn,
    free_port,
    load_average,
    machine_busy_seconds,
    process_cpu_seconds,
)
from bench.common import machine as common_machine

__all__ = [
    "BackendSampler",
    "ServerProcess",
    "backend_pids",
    "free_port",
    "load_average",
    "machine_busy_seconds",
    "process_cpu_seconds",
]


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
def auth_service(
    *, database_url: str, amqp_url: str, internal_key: str, secret_key: str, log_path: Path
) -> ServerProcess:
    """`tollgate serve auth` in its own process (uvicorn, uvloop, httptools), on loopback, in
    production mode with real (random) secrets: the configuration that ships."""
    env = {
        key: value
        for key, value in os.environ.items()
        # Nothing of the caller's Tollgate or tracing configuration leaks in.
        if not key.startswith(("TOLLGATE_", "OTEL_"))
    }
    env.update(
        {
            "TOLLGATE_ENV": "production",
            "TOLLGATE_SECRET_KEY": secret_key,
            "TOLLGATE_INTERNAL_KEY": internal_key,
            "TOLLGATE_AUTH_DATABASE_URL": database_url,
            "TOLLGATE_AMQP_URL": amqp_url,
            "TOLLGATE_LOG_LEVEL": "WARNING",
        }
    )
    port = free_port()
    # The interpreter of this uv environment, so no `uv run` resyncs the shared .venv meanwhile;
    # the same as `uv run tollgate serve auth --port P`.
    command = [sys.executable, "-m", "tollgate.cli", "serve", "auth", "--port", str(port)]
    return ServerProcess("auth", command, env, log_path, port)


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
