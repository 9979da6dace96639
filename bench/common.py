"""Helpers every benchmark shares: throwaway PostgreSQL databases on the admin URL, free ports,
CPU time from /proc and a description of the machine."""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import socket

import asyncpg
from sqlalchemy.engine import make_url


def dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def database_url(admin_url: str, name: str) -> str:
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


async def admin_execute(admin_url: str, sql: str) -> None:
    connection = await asyncpg.connect(dsn(admin_url), timeout=10)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def server_version(admin_url: str) -> str:
    connection = await asyncpg.connect(dsn(admin_url), timeout=10)
    try:
        return str(await connection.fetchval("SHOW server_version"))
    finally:
        await connection.close()


# --- processes and the machine (the same in every benchmark) -----------------------------
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def process_cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (all its threads), from /proc."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            raw = stat.read()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all cores) since boot."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / TICKS


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def machine() -> dict[str, object]:
    """What the figures were measured on."""
    model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory_kib = 0
    with contextlib.suppress(OSError), open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
                break
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "memory_mib": memory_kib // 1024,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


class BackendSampler:
    """What a service's PostgreSQL connections are doing, sampled every `interval` seconds.

    `waiting for a lock` counts transactions queued behind a row lock (billing:
    one account's wallet); `idle in transaction` ones are checked out by a
    process busy elsewhere between two statements (billing: Python; auth: the
    argon2 verify of a login).
    """

    def __init__(self, url: str, interval: float = 0.25) -> None:
        self.url = url
        self.interval = interval
        self.samples: list[dict[str, int]] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        connection = await asyncpg.connect(dsn(self.url), timeout=10)
        try:
            while True:
                rows = await connection.fetch(
                    "SELECT CASE WHEN wait_event_type = 'Lock' THEN 'waiting for a lock' "
                    "ELSE coalesce(state, 'unknown') END AS what, count(*) AS n FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() GROUP BY 1"
                )
                self.samples.append({str(row["what"]): int(row["n"]) for row in rows})
                await asyncio.sleep(self.interval)
        finally:
            await connection.close()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> dict[str, float]:
        """Mean connections in each state, and the most connections seen."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        count = max(len(self.samples), 1)
        states = sorted({state for sample in self.samples for state in sample})
        means = {state: sum(s.get(state, 0) for s in self.samples) / count for state in states}
        return {
            **{f"mean {state}": round(mean, 2) for state, mean in means.items()},
            "max connections": max((sum(s.values()) for s in self.samples), default=0),
        }
