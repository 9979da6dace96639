"""Helpers every benchmark shares: throwaway PostgreSQL databases on the admin URL, free ports,
CPU time from /proc and a description of the machine."""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import aio_pika
import aiohttp
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


async def backend_pids(url: str) -> list[int]:
    """PostgreSQL backends connected to database `url`, not this query's own."""
    connection = await asyncpg.connect(dsn(url), timeout=10)
    try:
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [int(row["pid"]) for row in rows]
    finally:
        await connection.close()


async def server_version(admin_url: str) -> str:
    connection = await asyncpg.connect(dsn(admin_url), timeout=10)
    try:
        return str(await connection.fetchval("SHOW server_version"))
    finally:
        await connection.close()


async def autovacuum_is_on(admin_url: str) -> bool:
    connection = await asyncpg.connect(dsn(admin_url), timeout=10)
    try:
        return str(await connection.fetchval("SHOW autovacuum")) == "on"
    finally:
        await connection.close()


@contextlib.asynccontextmanager
async def autovacuum_stand_in(admin_url: str, urls: Sequence[str], *, every: float = 10.0) -> AsyncIterator[bool]:
    """While the block runs, `VACUUM (ANALYZE)` each database in `urls` every `every` seconds, if the
    server's own autovacuum is off; yields whether it stands in.

    Production runs autovacuum (PostgreSQL's default; CloudNativePG's too). A server with it off (CI
    machines here: conf.d/90-ci.conf) never analyzes a table, so a plan a connection cached while the
    table was nearly empty is never replanned: invoicing's lookup of a document by its unique key kept an
    index that filters every document of the account (3-5 ms per event at 10,000 documents instead of
    0.02), and the outbox's and inbox's dead rows were never reclaimed. Every `every` seconds is about
    what autovacuum does under the bench's write rate (it wakes each minute, and sooner when busy). Each
    pass uses a connection of its own, closed after it: its CPU is not counted as a service's database's.
    """
    if await autovacuum_is_on(admin_url):
        yield False
        return

    async def vacuum_forever() -> None:
        while True:
            await asyncio.sleep(every)
            for url in urls:
                with contextlib.suppress(OSError, asyncpg.PostgresError, TimeoutError):
                    connection = await asyncpg.connect(dsn(url), timeout=10)
                    try:
                        await connection.execute("VACUUM (ANALYZE)")
                    finally:
                        await connection.close()

    task = asyncio.create_task(vacuum_forever())
    try:
        yield True
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


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


async def delete_queues(amqp_url: str, names: Sequence[str]) -> None:
    """Delete the queues `names` if they exist (a bench's own, or those a service under test declared)."""
    async with await aio_pika.connect(amqp_url, timeout=10) as connection:
        for name in names:
            # A failed delete closes the channel: one channel per queue.
            channel = await connection.channel()
            with contextlib.suppress(aio_pika.exceptions.AMQPError):
                await channel.queue_delete(name)
            with contextlib.suppress(aio_pika.exceptions.AMQPError):
                await channel.close()


# --- servers under test ------------------------------------------------------------------
ROOT = Path(__file__).resolve().parents[1]  # the repository: `python -m bench....` runs from here


@dataclass
class ServerProcess:
    """One HTTP server (`tollgate serve …` or a bench's own) in its own process group on loopback,
    logging to a file; ready when `health_path` answers 200."""

    name: str
    command: Sequence[str]
    env: Mapping[str, str]
    log_path: Path
    port: int
    health_path: str = "/readyz"
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, command: Sequence[str] | None = None) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                list(command or self.command),
                env=dict(self.env),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=ROOT,
                start_new_session=True,
            )

    async def wait_ready(self, *, checks: Sequence[str] | None = None, within: float = 90.0) -> None:
        """Until `health_path` answers 200 with the broker connected (where it reports one), or the
        named checks of its answer are all true."""
        deadline = time.monotonic() + within
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as session:
            while True:
                if not self.alive():
                    raise RuntimeError(f"{self.name} exited:\n{self.log_tail()}")
                with contextlib.suppress(aiohttp.ClientError, TimeoutError, ValueError):
                    async with session.get(self.url + self.health_path) as answer:
                        body = await answer.json(content_type=None) if answer.status in (200, 503) else {}
                        if answer.status == 200 and body.get("broker", "connected") == "connected":
                            return
                        found = body.get("checks", {})
                        if checks and all(found.get(name) for name in checks):
                            return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} was not ready within {within:.0f}s:\n{self.log_tail()}")
                await asyncio.sleep(0.25)

    def log_count(self, needle: str) -> int:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace").count(needle)
        return 0

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def signal(self, number: int) -> None:
        if self.alive():
            assert self.process is not None
            self.process.send_signal(number)

    async def stop(self, grace: float = 20.0) -> int | None:
        """SIGTERM (uvicorn's graceful shutdown), SIGKILL after `grace` seconds; only our own pid."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.to_thread(self.process.wait, grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return await asyncio.to_thread(self.process.wait, 10)
