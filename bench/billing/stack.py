"""The system under test: throwaway databases, and auth, billing, invoicing and gateway processes on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aio_pika
import asyncpg

from bench.common import ServerProcess, admin_execute, database_url, dsn, free_port

DB_PREFIX = "bench_billing_"


# --- databases ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Databases:
    tag: str
    admin_url: str
    services: tuple[str, ...] = ("auth", "billing")

    def name(self, service: str) -> str:
        return f"{DB_PREFIX}{self.tag}_{service}"

    def url(self, service: str) -> str:
        return database_url(self.admin_url, self.name(service))


async def create_databases(admin_url: str, *, invoicing: bool = False) -> Databases:
    """`bench_billing_<hex>_auth` and `..._billing` (and `..._invoicing`), migrated as `tollgate migrate` does."""
    import auth.app
    import billing.app
    import invoicing.app as invoicing_app
    from tollgate_shared.migrations import upgrade

    migrations = {"auth": auth.app.MIGRATIONS, "billing": billing.app.MIGRATIONS}
    if invoicing:
        migrations["invoicing"] = invoicing_app.MIGRATIONS
    databases = Databases(uuid.uuid4().hex[:10], admin_url, tuple(migrations))
    for service, folder in migrations.items():
        await admin_execute(admin_url, f'CREATE DATABASE "{databases.name(service)}"')
        # Alembic's env runs its own event loop: keep it off this one.
        await asyncio.wait_for(asyncio.to_thread(upgrade, folder, databases.url(service)), timeout=120)
    return databases


async def drop_databases(databases: Databases) -> None:
    for service in databases.services:
        name = databases.name(service)
        if not name.startswith(DB_PREFIX):
            raise ValueError(f"refusing to drop {name}: not a billing bench database")
        with contextlib.suppress(asyncpg.PostgresError, OSError):
            await admin_execute(databases.admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def query_value(url: str, sql: str, *args: object) -> Any:
    connection = await asyncpg.connect(dsn(url), timeout=10)
    try:
        return await connection.fetchval(sql, *args)
    finally:
        await connection.close()


# --- the broker ----------------------------------------------------------------------------
def billing_queues(retry_delays: Sequence[float]) -> list[str]:
    """Billing's queues (fixed names, declared by the service) with their dead-letter and retry queues."""
    from billing.handlers import FINANCE_QUEUE, event_handlers
    from billing.settings import BillingSettings

    # As `tollgate.services` lists them: the consumed queues, and the finance queue billing declares.
    return _with_retries([*event_handlers(BillingSettings.model_construct()), FINANCE_QUEUE], retry_delays)


def invoicing_queues(retry_delays: Sequence[float]) -> list[str]:
    """Invoicing's queue (a fixed name, `invoicing.billing-events`) with its dead-letter and retry queues."""
    from invoicing.handlers import event_handlers
    from invoicing.settings import InvoicingSettings

    return _with_retries(list(event_handlers(InvoicingSettings.model_construct())), retry_delays)


def _with_retries(queues: Sequence[str], retry_delays: Sequence[float]) -> list[str]:
    from tollgate_shared.bus import topology

    names = []
    for queue in queues:
        names += [queue, topology.dead_letter_queue(queue)]
        names += [topology.retry_queue(queue, delay) for delay in retry_delays]
    return names


async def consumers_of(amqp_url: str, queue: str) -> int:
    """Consumers of `queue` now (0 when it does not exist)."""
    async with await aio_pika.connect(amqp_url, timeout=10) as connection:
        channel = await connection.channel()
        try:
            declared = await channel.declare_queue(queue, passive=True)
        except aio_pika.exceptions.ChannelClosed:
            return 0
        return declared.declaration_result.consumer_count or 0


def broker_user(amqp_url: str) -> str:
    return urlsplit(amqp_url).username or "guest"


# --- processes -----------------------------------------------------------------------------------
def serve_command(service: str, port: int, instance: str, *, profile_to: Path | None = None) -> list[str]:
    """`tollgate serve SERVICE` with this environment's interpreter (the pid is the server's own);
    with `profile_to`, under a cProfile that SIGUSR1 starts and SIGUSR2 writes (profiled_serve)."""
    serve = ["serve", service, "--port", str(port), "--instance", instance]
    if profile_to is not None:
        return [sys.executable, "-m", "bench.billing.profiled_serve", str(profile_to), *serve]
    return [sys.executable, "-m", "tollgate.cli", *serve]


@dataclass
class Stack:
    """auth, billing-1 and billing-2, and two gateways: one routing to billing-1 only, one to both; with
    `invoicing`, an invoicing process too, behind both gateways."""

    databases: Databases
    amqp_url: str
    log_dir: Path
    billing_settings: dict[str, str] = field(default_factory=dict)  # TOLLGATE_* for both billing processes
    invoicing: bool = False
    retry_delays: str = "1,10,60"
    internal_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    processes: dict[str, ServerProcess] = field(default_factory=dict)

    def retry_delay_values(self) -> list[float]:
        return [float(part) for part in self.retry_delays.split(",") if part.strip()]

    def environment(self, **values: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TOLLGATE_", "OTEL_"))}
        env.update(
            {
                # Production mode with real (random) secrets: the configuration that ships.
                "TOLLGATE_ENV": "production",
                "TOLLGATE_SECRET_KEY": self.secret_key,
                "TOLLGATE_INTERNAL_KEY": self.internal_key,
                "TOLLGATE_AMQP_URL": self.amqp_url,
                "TOLLGATE_BUS_RETRY_DELAYS": self.retry_delays,
                "TOLLGATE_LOG_LEVEL": "WARNING",
                # Tokens outlive the whole run: no re-login between phases.
                "TOLLGATE_ACCESS_TOKEN_MINUTES": "60",
                **values,
            }
        )
        return env

    def plan(self) -> None:
        names = ["auth", "billing-1", "billing-2", "gateway-one", "gateway-two", "invoicing"]
        ports = {name: free_port() for name in names if self.invoicing or name != "invoicing"}
        auth_url = f"http://127.0.0.1:{ports['auth']}"
        # Without invoicing, the gateways route /api/invoices to a port nobody listens on (discard).
        invoicing_url = f"http://127.0.0.1:{ports['invoicing']}" if self.invoicing else "http://127.0.0.1:9"
        billing = {
            "TOLLGATE_BILLING_DATABASE_URL": self.databases.url("billing"),
            "TOLLGATE_AUTH_URL": auth_url,
            # The bench publishes the finance service's decisions with its own broker login.
            "TOLLGATE_FINANCE_BROKER_USER": broker_user(self.amqp_url),
            "TOLLGATE_PAYMENT_PROVIDER": "sandbox",
            **self.billing_settings,
        }
        envs = {
            "auth": self.environment(TOLLGATE_AUTH_DATABASE_URL=self.databases.url("auth")),
            "billing-1": self.environment(**billing),
            "billing-2": self.environment(**billing),
        }
        if self.invoicing:
            envs["invoicing"] = self.environment(
                TOLLGATE_INVOICING_DATABASE_URL=self.databases.url("invoicing"),
                # Where it fetches the sessions auth revoked, as billing does.
                TOLLGATE_AUTH_URL=auth_url,
            )
        for gateway, replicas in (("gateway-one", ["billing-1"]), ("gateway-two", ["billing-1", "billing-2"])):
            envs[gateway] = self.environment(
                TOLLGATE_AUTH_URL=auth_url,
                TOLLGATE_BILLING_URL=",".join(f"http://127.0.0.1:{ports[r]}" for r in replicas),
                TOLLGATE_INVOICING_URL=invoicing_url,
                # Sign-up and login of the bench's accounts come from one address.
                TOLLGATE_AUTH_RATE_PER_MINUTE="100000",
            )
        for name, port in ports.items():
            service = name.split("-")[0]
            command = serve_command(service, port, name)
            self.processes[name] = ServerProcess(name, command, envs[name], self.log_dir / f"{name}.log", port)

    async def start(self, name: str, *, profile_to: Path | None = None) -> None:
        process = self.processes[name]
        service = name.split("-")[0]
        process.start(serve_command(service, process.port, name, profile_to=profile_to) if profile_to else None)
        # The gateway is ready once it has the IP rules, whatever the services behind it.
        await process.wait_ready()

    async def start_all(self) -> None:
        """Every process at once (each compiles its imports: start-up is CPU-bound), then wait for each."""
        await asyncio.gather(*(self.start(name) for name in self.processes))

    async def stop(self, name: str) -> None:
        await self.processes[name].stop()

    async def stop_all(self) -> None:
        await asyncio.gather(*(process.stop() for process in self.processes.values()))

    def __getitem__(self, name: str) -> ServerProcess:
        return self.processes[name]
