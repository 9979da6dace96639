"""What integration and end-to-end tests share: databases, servers, a cuttable link."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import asyncpg
import httpx
import jwt
from sqlalchemy import MetaData
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from tollgate.dev import QuietServer, bind_loopback, server
from tollgate.services import SERVICES
from tollgate.throwaway import TcpProxy
from tollgate.throwaway import free_port_pair as free_port_pair  # where the tests import it from
from tollgate_shared.access_tokens import Principal, principal_from_claims
from tollgate_shared.bus import topology
from tollgate_shared.db import create_engine
from tollgate_shared.edge import EDGE_HEADER, sign_edge
from tollgate_shared.migrations import upgrade

# The TLS context of the helpers' clients, made once: httpx makes one per client otherwise (reading the CA
# bundle: tens of ms of CPU each, several per test), and these clients only speak plain HTTP on loopback.
TLS = ssl.create_default_context()

TEST_INTERNAL_KEY = "test-internal-key-" + "x" * 16
TEST_SECRET_KEY = "test-secret-key-" + "y" * 16


async def wait_for(predicate: Callable[[], Awaitable[Any]], *, timeout: float = 15.0, interval: float = 0.05) -> Any:
    """Poll until `predicate` answers something truthy; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = await predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


# --- databases ---------------------------------------------------------------
def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def database_url(admin_url: str, name: str) -> str:
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


class DatabaseFactory:
    """Migrated template databases once per session; a fresh copy per test in ~50 ms."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.session_tag = uuid.uuid4().hex[:8]
        self.templates: dict[str, str] = {}
        self.created: list[str] = []
        # Copies are made side by side; migrations one at a time (Alembic's context is global to the process).
        self._migrating = asyncio.Lock()

    async def _execute(self, sql: str) -> None:
        connection = await asyncpg.connect(_dsn(self.admin_url))
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    async def template(self, service: str) -> str:
        async with self._migrating:
            if service not in self.templates:
                name = f"tg_tpl_{self.session_tag}_{service}"
                await self._execute(f'CREATE DATABASE "{name}"')
                migrations = SERVICES[service].migrations
                assert migrations is not None
                await asyncio.to_thread(upgrade, migrations, database_url(self.admin_url, name))
                self.templates[service] = name
                self.created.append(name)
        return self.templates[service]

    async def fresh(self, service: str) -> str:
        """The URL of a new, migrated database for `service`."""
        template = await self.template(service)
        name = f"tg_{uuid.uuid4().hex[:12]}_{service}"
        await self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        self.created.append(name)
        return database_url(self.admin_url, name)

    async def with_tables(self, metadata: MetaData) -> str:
        """The URL of a new database holding only `metadata`'s tables (library tests)."""
        name = f"tg_{uuid.uuid4().hex[:12]}_lib"
        await self._execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        url = database_url(self.admin_url, name)
        engine = create_engine(url, pool_size=1)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(metadata.create_all)
        finally:
            await engine.dispose()
        return url

    async def engine_with_tables(self, kind: str, metadata: MetaData, folder: Path, **options: Any) -> AsyncEngine:
        """An engine on a new `kind` database ("postgresql", or "sqlite" in `folder`) holding `metadata`'s tables."""
        if kind == "postgresql":
            return create_engine(await self.with_tables(metadata), **options)
        engine = create_engine(f"sqlite+aiosqlite:///{folder / 'tables.sqlite3'}", **options)
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        return engine

    async def drop_all(self, side_by_side: int = 16) -> None:
        """Drop every database this factory made, `side_by_side` at a time: each DROP DATABASE
        waits for a checkpoint, and drops that wait together share one (one after the other,
        a whole run's took 25 s)."""
        names = list(self.created)
        self.created.clear()

        async def drop_some() -> None:
            connection = await asyncpg.connect(_dsn(self.admin_url))
            try:
                while names:
                    name = names.pop()
                    with contextlib.suppress(asyncpg.PostgresError):
                        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await connection.close()

        await asyncio.gather(*(drop_some() for _ in range(side_by_side)))


async def sqlite_database(service: str, folder: Path) -> str:
    """The URL of a new, migrated SQLite file for `service` in `folder` (the embedded default's database)."""
    url = f"sqlite+aiosqlite:///{folder / f'{service}.db'}"
    migrations = SERVICES[service].migrations
    assert migrations is not None
    await asyncio.to_thread(upgrade, migrations, url)
    return url


async def fetch(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(_dsn(url))
    try:
        return list(await connection.fetch(sql, *args))
    finally:
        await connection.close()


# --- the broker --------------------------------------------------------------
def queues_of_tests(extra: tuple[str, ...] = ()) -> list[str]:
    """Every queue the services (and tests) declare, with their retry and dead-letter queues."""
    from tollgate.services import all_queues

    names = []
    for queue in [*all_queues(), *extra]:
        names += [queue, topology.dead_letter_queue(queue)]
        names += [topology.retry_queue(queue, delay) for delay in TEST_RETRY_DELAYS]
    return names


TEST_RETRY_DELAYS = (0.2, 0.4)


async def reset_broker(amqp_url: str, extra: tuple[str, ...] = ()) -> None:
    """Delete the tests' queues so every test starts from an empty broker."""
    async with await aio_pika.connect(amqp_url) as connection:
        # ops.unrouted is the broker's, not a test's: empty it, never delete it
        # (publishers of events nobody consumes would get NO_ROUTE meanwhile).
        channel = await connection.channel()
        with contextlib.suppress(aio_pika.exceptions.AMQPError):
            await (await channel.get_queue(topology.UNROUTED_QUEUE)).purge()
        # One channel for all: deleting a queue that does not exist is no error; a refusal
        # (a queue another connection holds exclusively) closes the channel, and the next opens another.
        for name in queues_of_tests(extra):
            if channel.is_closed:
                channel = await connection.channel()
            with contextlib.suppress(aio_pika.exceptions.AMQPError):
                await channel.queue_delete(name)


# --- servers -----------------------------------------------------------------
@dataclass
class RunningServer:
    name: str
    server: QuietServer
    sock: socket.socket
    task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"


@dataclass
class ServerGroup:
    """ASGI apps served by real uvicorn servers on loopback ports, in this event loop."""

    servers: dict[str, RunningServer] = field(default_factory=dict)

    def reserve(self, name: str) -> str:
        sock = bind_loopback()
        self.servers[name] = RunningServer(name, None, sock)  # type: ignore[arg-type]
        return self.servers[name].url

    async def start(self, name: str, app: Any) -> str:
        running = self.servers.get(name) or RunningServer(name, None, bind_loopback())  # type: ignore[arg-type]
        running.server = server(app)  # configured exactly as `tollgate dev` serves
        running.task = asyncio.create_task(running.server.serve(sockets=[running.sock]))
        self.servers[name] = running
        while not running.server.started:
            if running.task.done():
                # uvicorn ends with SystemExit when the app's startup fails; say so plainly.
                self.servers.pop(name)
                raise RuntimeError(f"{name} did not start; see the log above")
            await asyncio.sleep(0.02)
        return running.url

    async def stop(self, name: str) -> None:
        running = self.servers.pop(name)
        running.server.should_exit = True
        if running.task is not None:
            await running.task
        running.sock.close()

    async def stop_all(self) -> None:
        """Stop every server at once, as `tollgate dev` does on SIGTERM (uvicorn's shutdown is
        mostly its own 0.1 s ticks: one after the other, four servers took most of a second)."""
        for name in [name for name, running in self.servers.items() if running.task is None]:
            self.servers.pop(name).sock.close()
        await asyncio.gather(*(self.stop(name) for name in list(self.servers)))


def signed_headers(
    method: str, path: str, *, client_ip: str = "203.0.113.7", access_token: str | None = None
) -> dict[str, str]:
    """Headers a request straight to a service needs (as if from the gateway), acting as the
    holder of `access_token` when given (read unchecked: the gateway is what checks it)."""
    request_id = uuid.uuid4().hex
    signature = sign_edge(
        TEST_INTERNAL_KEY.encode(),
        method=method,
        path=path,
        client_ip=client_ip,
        request_id=request_id,
        principal=principal_of(access_token) if access_token else None,
    )
    return {EDGE_HEADER: signature}


def principal_of(access_token: str) -> Principal:
    """The caller an access token names, unverified (tests that bypass the gateway on purpose)."""
    return principal_from_claims(jwt.decode(access_token, options={"verify_signature": False}))


async def wait_ready(url: str, timeout: float = 20.0) -> None:
    """Until `url` is ready and, where it reports a broker, connected to it: tests go on to publish
    and consume (a service is ready to serve requests before its broker answers)."""
    async with httpx.AsyncClient(verify=TLS) as client:

        async def ready() -> bool:
            try:
                answer = await client.get(f"{url}/readyz")
            except httpx.HTTPError:
                return False
            return answer.status_code == 200 and answer.json().get("broker", "connected") == "connected"

        await wait_for(ready, timeout=timeout)


def amqp_url_via(proxy: TcpProxy, amqp_url: str) -> str:
    """`amqp_url` through `proxy`, reconnecting quickly after a cut."""
    parsed = urlsplit(amqp_url)
    credentials = parsed.netloc.rsplit("@", 1)[0] + "@" if "@" in parsed.netloc else ""
    return urlunsplit(
        (parsed.scheme, f"{credentials}127.0.0.1:{proxy.port}", parsed.path or "/", "reconnect_interval=0.5", "")
    )


@contextlib.asynccontextmanager
async def http_client(base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url, timeout=10, verify=TLS) as client:
        yield client


def stop_processes(processes: list[subprocess.Popen[bytes]], stop_signal: int, *, timeout: float = 20.0) -> None:
    """Send each still-running process `stop_signal` and wait for it; SIGKILL one that outlasts `timeout`."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(stop_signal)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
