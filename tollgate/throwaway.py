"""Throwaway infrastructure from the locally installed binaries: a PostgreSQL cluster, a RabbitMQ node, and
a TCP link that can be cut. The tests start them when nothing answers on the usual ports; the chaos run
(`python -m chaos`) always starts its own, and stops, restarts and cuts them on purpose. Never the shared
instances of the machine: each has its own data folder, ports and node name, deleted by `destroy()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aio_pika
import asyncpg

HOW_TO_INSTALL = (
    "Integration tests need PostgreSQL and RabbitMQ. Either set TOLLGATE_TEST_DATABASE_URL and "
    "TOLLGATE_TEST_AMQP_URL, run them on localhost (5432 trust auth for user postgres; 5672 guest/guest), "
    "or install the binaries so the tests can start throwaway instances: "
    "`apt-get install postgresql rabbitmq-server` (`make test` does this as root)."
)


class InfrastructureMissing(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def free_port_pair() -> tuple[int, int]:
    """A free port, and the first of four consecutive free ports (for `tollgate stack`)."""
    for _ in range(50):
        with socket.socket() as a:
            a.bind(("127.0.0.1", 0))
            first = a.getsockname()[1]
        base = first + 1
        try:
            for offset in range(4):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", base + offset))
        except OSError:
            continue
        return first, base
    raise RuntimeError("no free ports")


def asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def postgres_answers(url: str) -> bool:
    try:
        connection = await asyncpg.connect(asyncpg_dsn(url), timeout=3)
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return False
    await connection.close()
    return True


async def rabbitmq_answers(url: str) -> bool:
    try:
        connection = await aio_pika.connect(url, timeout=3)
    except (TimeoutError, OSError, aio_pika.exceptions.AMQPError):
        return False
    await connection.close()
    return True


def _as_user(user: str, command: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root, and Debian's RabbitMQ wrappers switch to their own user; CI runs as root.
    if os.geteuid() == 0 and shutil.which("runuser"):
        return ["runuser", "-u", user, "--", *command]
    return command


def _own(path: Path, user: str) -> None:
    if os.geteuid() == 0:
        for item in [path, *path.rglob("*")]:
            with contextlib.suppress(LookupError, OSError):
                shutil.chown(item, user, user)


# --- PostgreSQL ------------------------------------------------------------------------------------
@dataclass
class ThrowawayPostgres:
    """A cluster of its own in a temporary folder, trust auth for `postgres`, on a free loopback port."""

    folder: Path
    port: int
    bin_dir: Path

    @property
    def url(self) -> str:
        """The admin URL (database `postgres`), as SQLAlchemy wants it."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    @classmethod
    def create(cls) -> ThrowawayPostgres:
        binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        pg_ctl = binaries[-1] if binaries else shutil.which("pg_ctl")
        if not pg_ctl:
            raise InfrastructureMissing("PostgreSQL is not answering and no pg_ctl is installed. " + HOW_TO_INSTALL)
        cluster = cls(Path(tempfile.mkdtemp(prefix="tollgate-pg-")), free_port(), Path(pg_ctl).parent)
        _own(cluster.folder, "postgres")
        command = [str(cluster.bin_dir / "initdb"), "-D", str(cluster.folder / "db"), "-U", "postgres", "--auth=trust"]
        subprocess.run(_as_user("postgres", command), check=True, capture_output=True)  # noqa: S603 (installed binaries)
        cluster.start()
        return cluster

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        command = [str(self.bin_dir / "pg_ctl"), "-D", str(self.folder / "db"), *args]
        return subprocess.run(_as_user("postgres", command), check=check, capture_output=True)  # noqa: S603

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300"
        self._pg_ctl("-o", options, "-l", str(self.folder / "log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._pg_ctl("-m", mode, "-w", "stop", check=False)

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


# --- RabbitMQ ------------------------------------------------------------------------------------------
@dataclass
class ThrowawayRabbitMQ:
    """A node of its own (name, ports, data folder, config) started with `rabbitmq-server`; guest/guest."""

    folder: Path
    port: int
    server: str
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    @property
    def node(self) -> str:
        return self.env["RABBITMQ_NODENAME"]

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    @classmethod
    def create(cls) -> ThrowawayRabbitMQ:
        """Start the node (not waiting for it: `wait_ready`)."""
        server = shutil.which("rabbitmq-server") or (
            "/usr/sbin/rabbitmq-server" if Path("/usr/sbin/rabbitmq-server").exists() else None
        )
        if not server:
            raise InfrastructureMissing(
                "RabbitMQ is not answering and rabbitmq-server is not installed. " + HOW_TO_INSTALL
            )
        folder = Path(tempfile.mkdtemp(prefix="tollgate-rabbit-"))
        port = free_port()
        (folder / "enabled_plugins").write_text("[].\n")
        # Our own config and env files: the system's may pin the node name and port.
        (folder / "rabbitmq.conf").write_text(f"listeners.tcp.default = 127.0.0.1:{port}\n")
        (folder / "rabbitmq-env.conf").write_text("")
        _own(folder, "rabbitmq")  # Debian's wrapper runs the broker as the rabbitmq user
        env = {
            **os.environ,
            "RABBITMQ_NODENAME": f"tollgate-test-{port}@localhost",
            "RABBITMQ_NODE_PORT": str(port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_MNESIA_BASE": str(folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(folder / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(folder / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(folder / "rabbitmq.conf"),
            "RABBITMQ_CONF_ENV_FILE": str(folder / "rabbitmq-env.conf"),
        }
        node = cls(folder, port, server, env)
        node.start()
        return node

    def start(self) -> None:
        """Start the node again on the same name, port and data (durable queues and their messages survive)."""
        self.process = subprocess.Popen(  # noqa: S603 (the installed broker, our own arguments)
            [self.server], env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def wait_ready(self, within: float = 60.0) -> None:
        deadline = time.monotonic() + within
        while not asyncio.run(rabbitmq_answers(self.url)):
            if time.monotonic() > deadline or (self.process is not None and self.process.poll() is not None):
                raise InfrastructureMissing(f"a throwaway RabbitMQ did not start in {within:.0f} s. " + HOW_TO_INSTALL)
            time.sleep(0.3)

    def ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """`rabbitmqctl -n NODE ARGS` (the same Erlang cookie: the wrapper runs as the rabbitmq user)."""
        command = ["rabbitmqctl", "-n", self.node, *args]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=60)  # noqa: S603

    def stop(self) -> None:
        """Stop the whole node (not only the app): every client sees its connection close."""
        self.ctl("stop", check=False)
        if self.process is not None:
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


# --- a link that can be cut ----------------------------------------------------
class TcpProxy:
    """A TCP relay to `target`; `cut()` drops every connection and refuses new ones
    until `restore()`, as an outage of the target looks from the client."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()

    async def start(self, port: int = 0) -> int:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", port or self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._links |= {writer, upstream_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))
        self._links -= {writer, upstream_writer}

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._links):
            writer.transport.abort()
        self._links.clear()

    async def restore(self) -> None:
        await self.start(self.port)
