"""The real PostgreSQL and RabbitMQ the integration tests run against.

Order of preference: `TOLLGATE_TEST_DATABASE_URL` / `TOLLGATE_TEST_AMQP_URL`;
else the localhost defaults; else throwaway instances started from locally
installed binaries (`initdb`/`pg_ctl`, `rabbitmq-server`); else the tests fail
with a message saying what to install. Never a silent skip.
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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aio_pika
import asyncpg

DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
HOW_TO_INSTALL = (
    "Integration tests need PostgreSQL and RabbitMQ. Either set TOLLGATE_TEST_DATABASE_URL and "
    "TOLLGATE_TEST_AMQP_URL, run them on localhost (5432 trust auth for user postgres; 5672 guest/guest), "
    "or install the binaries so the tests can start throwaway instances: "
    "`apt-get install postgresql rabbitmq-server` (`.ci/run` does this)."
)


class InfrastructureMissing(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _postgres_answers(url: str) -> bool:
    try:
        connection = await asyncpg.connect(_asyncpg_dsn(url), timeout=3)
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return False
    await connection.close()
    return True


async def _rabbitmq_answers(url: str) -> bool:
    try:
        connection = await aio_pika.connect(url, timeout=3)
    except (TimeoutError, OSError, aio_pika.exceptions.AMQPError):
        return False
    await connection.close()
    return True


@dataclass
class Infrastructure:
    database_url: str
    amqp_url: str
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)
    cleanups: list[tuple[str, ...]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def stop(self) -> None:
        for command in self.cleanups:
            subprocess.run(command, capture_output=True, check=False)
        for process in self.started:
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=20)


def _as_postgres_user(command: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; CI runs as root.
    if os.geteuid() == 0 and shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def start_throwaway_postgres() -> tuple[str, tuple[str, ...]]:
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    pg_ctl = binaries[-1] if binaries else shutil.which("pg_ctl")
    if not pg_ctl:
        raise InfrastructureMissing("PostgreSQL is not answering and no pg_ctl is installed. " + HOW_TO_INSTALL)
    bin_dir = Path(pg_ctl).parent
    data = Path(tempfile.mkdtemp(prefix="tollgate-pg-"))
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    port = free_port()
    subprocess.run(
        _as_postgres_user([str(bin_dir / "initdb"), "-D", str(data / "db"), "-U", "postgres", "--auth=trust"]),
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300"
    subprocess.run(
        _as_postgres_user([pg_ctl, "-D", str(data / "db"), "-o", options, "-l", str(data / "log"), "-w", "start"]),
        check=True,
        capture_output=True,
    )
    stop = tuple(_as_postgres_user([pg_ctl, "-D", str(data / "db"), "-m", "immediate", "stop"]))
    return f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres", stop


def start_throwaway_rabbitmq() -> tuple[str, subprocess.Popen[bytes], tuple[str, ...]]:
    server = shutil.which("rabbitmq-server") or (
        "/usr/sbin/rabbitmq-server" if Path("/usr/sbin/rabbitmq-server").exists() else None
    )
    if not server:
        raise InfrastructureMissing("RabbitMQ is not answering and rabbitmq-server is not installed. " + HOW_TO_INSTALL)
    base = Path(tempfile.mkdtemp(prefix="tollgate-rabbit-"))
    port = free_port()
    node = f"tollgate-test-{port}@localhost"
    (base / "enabled_plugins").write_text("[].\n")
    # Our own config and env files: the system's may pin the node name and port.
    (base / "rabbitmq.conf").write_text(f"listeners.tcp.default = 127.0.0.1:{port}\n")
    (base / "rabbitmq-env.conf").write_text("")
    if os.geteuid() == 0:
        # Debian's wrapper runs the broker as the rabbitmq user.
        for path in [base, *base.iterdir()]:
            with contextlib.suppress(LookupError, OSError):
                shutil.chown(path, "rabbitmq", "rabbitmq")
    env = {
        **os.environ,
        "RABBITMQ_NODENAME": node,
        "RABBITMQ_NODE_PORT": str(port),
        "RABBITMQ_DIST_PORT": str(free_port()),
        "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
        "RABBITMQ_LOG_BASE": str(base / "log"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
        "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
        "RABBITMQ_CONF_ENV_FILE": str(base / "rabbitmq-env.conf"),
    }
    process = subprocess.Popen([server], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stop = ("rabbitmqctl", "-n", node, "stop")
    return f"amqp://guest:guest@127.0.0.1:{port}/", process, stop


def provide_infrastructure() -> Infrastructure:
    """Find or start PostgreSQL and RabbitMQ; raise `InfrastructureMissing` with advice otherwise."""
    database_url = os.environ.get("TOLLGATE_TEST_DATABASE_URL", DEFAULT_DATABASE_URL)
    amqp_url = os.environ.get("TOLLGATE_TEST_AMQP_URL", DEFAULT_AMQP_URL)
    infra = Infrastructure(database_url, amqp_url)
    if not asyncio.run(_postgres_answers(database_url)):
        infra.database_url, stop = start_throwaway_postgres()
        infra.cleanups.append(stop)
        infra.notes.append(f"started a throwaway PostgreSQL at {infra.database_url}")
    if not asyncio.run(_rabbitmq_answers(amqp_url)):
        infra.amqp_url, process, stop = start_throwaway_rabbitmq()
        infra.started.append(process)
        infra.cleanups.append(stop)
        deadline = time.monotonic() + 60
        while not asyncio.run(_rabbitmq_answers(infra.amqp_url)):
            if time.monotonic() > deadline or process.poll() is not None:
                infra.stop()
                raise InfrastructureMissing("a throwaway RabbitMQ did not start in 60 s. " + HOW_TO_INSTALL)
            time.sleep(0.5)
        infra.notes.append(f"started a throwaway RabbitMQ at {infra.amqp_url}")
    return infra


@contextlib.contextmanager
def infrastructure() -> Iterator[Infrastructure]:
    infra = provide_infrastructure()
    try:
        yield infra
    finally:
        infra.stop()
