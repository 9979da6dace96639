"""Billing replicas join and leave a running system; the gateway, a process of its own, follows (issue 16).

The gateway knows billing by one name, `billing-replicas`, as it would a
Kubernetes headless Service; a hosts file plays the DNS records (one line per
replica's address: 127.0.0.2, 127.0.0.3, on one port). Each billing process
exports its own spans, which tell which replica answered what. Clients keep
reading balances and submitting offline top-ups throughout.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.auth_client import AuthClient, User
from tests.support.harness import DatabaseFactory, free_port_pair, wait_for
from tests.support.ports import port_free_on
from tests.support.replicas import Replica, SpanCollector, replica_environment

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

NAME = "billing-replicas"
BALANCE = "GET /api/billing/balance"
WORKERS = 4


@dataclass
class Load:
    """`WORKERS` clients, each one request at a time, until stopped; every answer but a 2xx is kept."""

    client: AuthClient
    user: User
    answered: int = 0
    failures: list[tuple[float, str]] = field(default_factory=list)
    running: bool = True

    async def worker(self, number: int) -> None:
        while self.running:
            if self.answered % 3 == number % 3:
                body = {"amount": "10.00", "mode": "neft", "reference": uuid.uuid4().hex, "paid_on": str(date.today())}
                response = await self.client.call("POST", "/api/billing/credits/offline", self.user, json=body)
            else:
                response = await self.client.call("GET", "/api/billing/balance", self.user)
            self.answered += 1
            if response.status_code >= 300:
                self.failures.append((time.monotonic(), f"{response.status_code} {response.text[:200]}"))

    async def run(self) -> None:
        await asyncio.gather(*(self.worker(number) for number in range(WORKERS)))


async def test_a_billing_replica_added_gets_traffic_within_seconds_and_one_killed_fails_only_what_it_held(
    start_system: Any, databases: DatabaseFactory, amqp_url: str, tmp_path: Path
) -> None:
    collector = SpanCollector()
    await collector.start()
    system = await start_system(services=("auth", "invoicing"))
    port = port_free_on(["127.0.0.2", "127.0.0.3"])
    hosts = tmp_path / "hosts"
    hosts.write_text(f"127.0.0.2 {NAME}\n")
    settings = {
        "TOLLGATE_BILLING_DATABASE_URL": await databases.fresh("billing"),
        "TOLLGATE_AMQP_URL": amqp_url,
        "TOLLGATE_AUTH_URL": system.urls["auth"],
    }

    def billing(number: int) -> Replica:
        name = f"billing-{number}"
        env = replica_environment(**settings, **collector.environment(name))
        return Replica("billing", name, env, tmp_path / f"{name}.log", port, host=f"127.0.0.{number + 1}")

    gateway_env = replica_environment(
        **settings,
        TOLLGATE_BILLING_URL=f"http://{NAME}:{port}",
        TOLLGATE_INVOICING_URL=system.urls["invoicing"],
        TOLLGATE_UPSTREAM_HOSTS_FILE=str(hosts),
        TOLLGATE_UPSTREAM_RESOLVE_INTERVAL="1",
        TOLLGATE_UPSTREAM_HEALTH_INTERVAL="1",
    )
    gateway = Replica("gateway", "gateway-1", gateway_env, tmp_path / "gateway.log", free_port_pair()[0])
    first, second = billing(1), billing(2)
    try:
        # All three start at once (a process's start is mostly its imports); the second replica
        # stays out of the hosts file, so the gateway knows nothing of it until it joins below.
        for process in (first, second, gateway):
            process.start()
        await asyncio.gather(first.wait_ready(), second.wait_ready(), gateway.wait_ready())
        async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
            client = AuthClient(http)
            load = Load(client, await client.sign_up())
            running = asyncio.create_task(load.run())
            try:
                await wait_for(lambda: _served_by(collector, "billing-1"), timeout=20)

                # --- a replica joins: a record more under the name, and it answers within seconds
                hosts.write_text(f"127.0.0.2 {NAME}\n127.0.0.3 {NAME}\n")
                joined = time.monotonic()
                await wait_for(lambda: _served_by(collector, "billing-2"), timeout=10)
                assert time.monotonic() - joined < 10

                # --- one is killed: only the requests it held fail; the next ones go to the other
                before = load.answered
                first.kill()
                killed = time.monotonic()
                await wait_for(lambda: _answered_since(load, before, 60), timeout=30)
            finally:
                load.running = False
                await running
        in_flight = [failure for failure in load.failures if failure[0] >= killed]
        assert len(in_flight) <= WORKERS, in_flight
        assert not [failure for failure in load.failures if failure[0] < killed], load.failures
        assert all(" 502 " in f" {text}" for _, text in in_flight), in_flight
    finally:
        await asyncio.gather(gateway.stop(), first.stop(), second.stop())
        await collector.stop()


async def _served_by(collector: SpanCollector, replica: str) -> bool:
    return collector.served(BALANCE).get(replica, 0) > 0


async def _answered_since(load: Load, before: int, count: int) -> bool:
    return load.answered >= before + count
