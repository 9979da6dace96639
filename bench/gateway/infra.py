"""A throwaway auth database, the processes under test, CPU accounting and the machine."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from bench.common import (
    ServerProcess,
    admin_execute,
    backend_pids,
    database_url,
    free_port,
    load_average,
    machine,
    machine_busy_seconds,
    process_cpu_seconds,
)

# Used from here by the rest of bench.gateway.
__all__ = [
    "ServerProcess",
    "backend_pids",
    "free_port",
    "load_average",
    "machine",
    "machine_busy_seconds",
    "process_cpu_seconds",
]

DB_PREFIX = "bench_gw_"
OTHER_BENCHES = re.compile(r"\bbench\.(auth|bus)\b")


# --- the database ------------------------------------------------------------------


def new_database_name() -> str:
    return f"{DB_PREFIX}{uuid.uuid4().hex[:10]}"


async def create_database(admin_url: str, name: str) -> str:
    """Create database `name` and migrate it with auth's alembic migrations; answer its URL."""
    from auth.app import MIGRATIONS
    from tollgate_shared.migrations import upgrade

    if not name.startswith(DB_PREFIX):
        raise ValueError(f"gateway bench databases are named {DB_PREFIX}*, not {name}")
    await admin_execute(admin_url, f'CREATE DATABASE "{name}"')
    url = database_url(admin_url, name)
    # Alembic's env runs its own event loop: keep it off this one.
    await asyncio.wait_for(asyncio.to_thread(upgrade, MIGRATIONS, url), timeout=120)
    return url


async def drop_database(admin_url: str, name: str) -> None:
    if not name.startswith(DB_PREFIX):
        raise ValueError(f"refusing to drop {name}: not a gateway bench database")
    await admin_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- processes ---------------------------------------------------------------------------
def clean_environment() -> dict[str, str]:
    """The caller's environment without any Tollgate or tracing configuration."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("TOLLGATE_", "OTEL_"))}


def tollgate_serve(service: str, port: int) -> list[str]:
    """`uv run tollgate serve SERVICE --port P`, with this environment's interpreter
    (so no `uv run` re-syncs the shared .venv meanwhile, and the pid is the server's own)."""
    return [sys.executable, "-m", "tollgate.cli", "serve", service, "--port", str(port)]


# --- CPU accounting ---------------------------------------------------------------------------
@dataclass
class CpuSnapshot:
    at: float
    machine: float
    processes: dict[str, float] = field(default_factory=dict)
    database: dict[int, float] = field(default_factory=dict)


def cpu_snapshot(processes: Mapping[str, Sequence[int]], database_pids: Sequence[int]) -> CpuSnapshot:
    """CPU seconds so far of each named process (the sum over its pids: nginx's master and worker)."""
    return CpuSnapshot(
        at=time.monotonic(),
        machine=machine_busy_seconds(),
        processes={name: sum(process_cpu_seconds(pid) or 0.0 for pid in pids) for name, pids in processes.items()},
        database={pid: s for pid in database_pids if (s := process_cpu_seconds(pid)) is not None},
    )


def cpu_usage(before: CpuSnapshot, after: CpuSnapshot, client_seconds: float) -> dict[str, float]:
    """Cores used on average between two snapshots, per process under test, PostgreSQL,
    the load generator (its rusage) and everything else on the machine (noise)."""
    seconds = after.at - before.at
    if seconds <= 0:
        return {}
    usage = {
        f"{name}_cores": (after.processes[name] - before.processes.get(name, 0.0)) / seconds for name in after.processes
    }
    database = sum(value - before.database.get(pid, 0.0) for pid, value in after.database.items()) / seconds
    machine = (after.machine - before.machine) / seconds
    client = client_seconds / seconds
    usage.update({"postgres_cores": database, "wrk_cores": client, "machine_cores": machine})
    accounted = sum(usage[k] for k in usage if k != "machine_cores")
    usage["other_cores"] = max(machine - accounted, 0.0)
    return usage


# --- the machine ---------------------------------------------------------------------------------
def other_benchmarks() -> list[str]:
    """Command lines of bench.auth / bench.bus processes running now (not ours)."""
    found = []
    own = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == own:
            continue
        with contextlib.suppress(OSError):
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                text = cmdline.read().replace(b"\0", b" ").decode(errors="replace").strip()
            if OTHER_BENCHES.search(text):
                found.append(f"{entry} {text}")
    return found


def wait_quiet(limit_s: float, log: Callable[[str], None]) -> float:
    """Wait (at most `limit_s`) until no other benchmark runs; answer the seconds waited."""
    started = time.monotonic()
    announced = False
    while (running := other_benchmarks()) and time.monotonic() - started < limit_s:
        if not announced:
            log(f"waiting for other benchmarks to end: {running[:2]}")
            announced = True
        time.sleep(3)
    if running:
        log(f"still running after {limit_s:.0f}s, going on anyway: {running[:2]}")
    return time.monotonic() - started


async def wait_for_quiet(limit_s: float, log: Callable[[str], None]) -> float:
    return await asyncio.to_thread(wait_quiet, limit_s, log)


class NoiseWatch:
    """Notes any other benchmark process seen while a measurement runs (polled once a second)."""

    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self.seen: list[str] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            found = await asyncio.to_thread(other_benchmarks)
            if found:
                self.seen = found
            await asyncio.sleep(self.interval)

    async def __aenter__(self) -> NoiseWatch:
        self.seen = other_benchmarks()
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if not self.seen:
            self.seen = other_benchmarks()
