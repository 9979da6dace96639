"""Fixtures every test folder shares: the real infrastructure and a running system."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tests.support.harness import (
    DatabaseFactory,
    ServerGroup,
    reset_broker,
    sqlite_database,
    wait_ready,
)
from tests.support.infrastructure import Infrastructure, InfrastructureMissing, infrastructure
from tests.support.settings import settings_for
from tests.support.telemetry import SPANS
from tollgate.services import SERVICES
from tollgate_shared.bus.inprocess import InProcessBroker
from tollgate_shared.telemetry import setup_telemetry


def pytest_configure(config: pytest.Config) -> None:
    # One tracer provider per process: the tests read finished spans from memory.
    for name in [n for n in os.environ if n.startswith("TOLLGATE_") and not n.startswith("TOLLGATE_TEST_")]:
        del os.environ[name]
    setup_telemetry("tollgate-tests", log_level="WARNING", extra_processor=SimpleSpanProcessor(SPANS))


@pytest.fixture(scope="session")
def infra() -> Iterator[Infrastructure]:
    try:
        with infrastructure() as found:
            yield found
    except InfrastructureMissing as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
async def databases(infra: Infrastructure) -> AsyncIterator[DatabaseFactory]:
    factory = DatabaseFactory(infra.database_url)
    yield factory
    await factory.drop_all()


@pytest.fixture
async def amqp_url(infra: Infrastructure) -> AsyncIterator[str]:
    """The broker, with the tests' queues emptied before and after the test."""
    await reset_broker(infra.amqp_url)
    yield infra.amqp_url
    await reset_broker(infra.amqp_url)


@dataclass
class System:
    """The four services on real servers, against real PostgreSQL and RabbitMQ."""

    group: ServerGroup
    database_urls: dict[str, str] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    apps: dict[str, Any] = field(default_factory=dict)

    @property
    def gateway(self) -> str:
        return self.urls["gateway"]


@pytest.fixture
async def start_system(
    databases: DatabaseFactory, amqp_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Any]:
    """`await start_system(billing_consumers=..., amqp_urls={...})` → a running `System`.

    `embedded=True` runs the embedded default instead (`tollgate dev`): SQLite
    files and one in-process bus shared by the services and the gateway.
    `database_gates={"billing": gate}` has a service reach its database through
    a started `tests.support.postgres_gate.PostgresGate` (`database_urls` stays direct).
    """
    groups: list[ServerGroup] = []

    async def start(
        *,
        embedded: bool = False,
        services: tuple[str, ...] = ("auth", "billing", "invoicing"),
        amqp_urls: dict[str, str] | None = None,
        billing_consumers: Any = None,
        gateway_upstreams: dict[str, str] | None = None,
        gateway_settings: dict[str, Any] | None = None,
        billing_settings: dict[str, Any] | None = None,
        database_gates: dict[str, Any] | None = None,
    ) -> System:
        group = ServerGroup()
        groups.append(group)
        system = System(group)
        broker = InProcessBroker() if embedded else None
        bus_url = None if embedded else amqp_url
        folder = tmp_path_factory.mktemp("embedded") if embedded else None
        if folder is not None:
            for service in services:  # one at a time: Alembic's context is global to the process
                system.database_urls[service] = await sqlite_database(service, folder)
        else:
            fresh = await asyncio.gather(*(databases.fresh(service) for service in services))
            system.database_urls.update(zip(services, fresh, strict=True))
        for service in services:
            gate = (database_gates or {}).get(service)  # a `PostgresGate` the test can close
            settings = settings_for(
                service,
                database_url=gate.url_of(system.database_urls[service]) if gate else system.database_urls[service],
                amqp_url=(amqp_urls or {}).get(service, bus_url),
                auth_url=system.urls.get("auth", "http://127.0.0.1:9"),
                **((billing_settings or {}) if service == "billing" else {}),
            )
            extra: dict[str, Any] = {"broker": broker} if broker is not None else {}
            if service == "billing" and billing_consumers is not None:
                extra["consumers"] = billing_consumers
            app = SERVICES[service].create_app(settings, instance=f"{service}-test", **extra)
            system.apps[service] = app
            system.urls[service] = await group.start(service, app)
        upstreams = {
            f"{name}_url": system.urls.get(name, "http://127.0.0.1:9") for name in ("auth", "billing", "invoicing")
        }
        upstreams.update(gateway_upstreams or {})
        gateway_values = {"amqp_url": bus_url, **upstreams, **(gateway_settings or {})}
        system.apps["gateway"] = SERVICES["gateway"].create_app(
            settings_for("gateway", **gateway_values), instance="gateway-test", broker=broker
        )
        system.urls["gateway"] = await group.start("gateway", system.apps["gateway"])
        for service in services:
            await wait_ready(system.urls[service])
        if "auth" in services:
            # The gateway refuses authenticated calls until it has the IP rules (fail closed).
            await asyncio.wait_for(system.apps["gateway"].gateway.sync.synced.wait(), timeout=20)
        return system

    yield start
    for group in groups:
        await group.stop_all()
