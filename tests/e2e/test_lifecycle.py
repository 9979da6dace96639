"""Readiness and SIGTERM of `tollgate serve` processes, with real RabbitMQ and PostgreSQL (DESIGN §10, issue 16).

A service is ready when its database answers: its broker away is reported,
orders are still taken and their events wait in the outbox. The gateway is
ready once it holds the IP rules, whatever the services behind it. A billing
replica sent SIGTERM under load and while consuming a burst of events loses
nothing: no request fails, every order exists once, every event is published
and every message is handled once, none parked.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.auth_client import AuthClient, User
from tests.support.billing import CERTIFICATE, SELLER_STATE_GSTIN, set_profile
from tests.support.events import (
    ACCOUNT_QUEUE,
    account_created_event,
    parked_or_delayed,
    publish_raw,
    queue_counts,
    unsent_events,
)
from tests.support.harness import DatabaseFactory, amqp_url_via, fetch, free_port_pair, wait_for
from tests.support.postgres_gate import PostgresGate
from tests.support.replicas import Replica, replica_environment
from tollgate.throwaway import TcpProxy

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

NOWHERE = "http://127.0.0.1:9"  # invoicing is not started: its routes are the gateway's 503


@dataclass
class Processes:
    """auth, billing replicas and the gateway, each `tollgate serve` in its own process."""

    auth: Replica
    billing: list[Replica]
    gateway: Replica
    billing_database: str

    @property
    def all(self) -> list[Replica]:
        return [self.auth, *self.billing, self.gateway]


@pytest.fixture
async def processes(
    databases: DatabaseFactory, amqp_url: str, tmp_path: Path
) -> AsyncIterator[Callable[..., Awaitable[Processes]]]:
    started: list[Processes] = []

    async def start(*, billing_replicas: int = 1, billing_amqp_url: str = "", billing_database: str = "") -> Processes:
        auth_database = await databases.fresh("auth")
        billing_direct = await databases.fresh("billing")
        auth = Replica(
            "auth",
            "auth-1",
            replica_environment(TOLLGATE_AMQP_URL=amqp_url, TOLLGATE_AUTH_DATABASE_URL=auth_database),
            tmp_path / "auth-1.log",
        )
        billing = [
            Replica(
                "billing",
                f"billing-{n}",
                replica_environment(
                    TOLLGATE_AMQP_URL=billing_amqp_url or amqp_url,
                    TOLLGATE_BILLING_DATABASE_URL=billing_database or billing_direct,
                    TOLLGATE_AUTH_URL=auth.url,
                ),
                tmp_path / f"billing-{n}.log",
                free_port_pair()[0],
            )
            for n in range(1, billing_replicas + 1)
        ]
        gateway = Replica(
            "gateway",
            "gateway-1",
            replica_environment(
                TOLLGATE_AMQP_URL=amqp_url,
                TOLLGATE_AUTH_URL=auth.url,
                TOLLGATE_BILLING_URL=",".join(replica.url for replica in billing),
                TOLLGATE_INVOICING_URL=NOWHERE,
                # Requests queue on a busy 2-core machine; only what they answer counts here.
                TOLLGATE_UPSTREAM_TIMEOUT="120",
            ),
            tmp_path / "gateway-1.log",
        )
        running = Processes(auth, billing, gateway, billing_direct)
        started.append(running)
        for replica in running.all:
            replica.start()
        for replica in running.all:
            await replica.wait_ready(timeout=90)
        return running

    yield start
    for running in started:
        await asyncio.gather(*(replica.stop() for replica in running.all))


async def readiness(replica: Replica) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(timeout=5) as client:
        answer = await client.get(f"{replica.url}/readyz")
        body: dict[str, Any] = answer.json()
        return answer.status_code, body


async def customer(http: httpx.AsyncClient, billing_database: str) -> tuple[AuthClient, User]:
    """An account with a billing profile whose wallet billing has opened."""
    client = AuthClient(http)
    admin = await client.sign_up()

    async def wallet_opened() -> bool:
        return bool(await fetch(billing_database, "SELECT 1 FROM wallet WHERE account_id = $1", admin.account_id))

    await wait_for(wallet_opened, timeout=30)
    assert (await set_profile(client, admin, "Karnataka", SELLER_STATE_GSTIN)).status_code == 200
    return client, admin


async def place_order(client: AuthClient, admin: User, order_id: str) -> httpx.Response:
    return await client.call("POST", "/api/billing/orders", admin, json={"order_id": order_id, "items": [CERTIFICATE]})


async def test_a_service_is_ready_while_its_database_answers_whatever_its_broker_and_the_gateway_whatever_the_services(
    processes: Callable[..., Awaitable[Processes]], databases: DatabaseFactory, amqp_url: str
) -> None:
    target = urlsplit(amqp_url)
    broker_link = TcpProxy(target.hostname or "127.0.0.1", target.port or 5672)
    await broker_link.start()
    gate = PostgresGate(databases.admin_url)
    await gate.start()
    billing_database = await databases.fresh("billing")
    try:
        system = await processes(
            billing_amqp_url=amqp_url_via(broker_link, amqp_url), billing_database=gate.url_of(billing_database)
        )
        (billing,) = system.billing
        async with httpx.AsyncClient(base_url=system.gateway.url, timeout=30) as http:
            client, admin = await customer(http, billing_database)

            # --- billing's broker away: reported, still ready, orders still taken
            await broker_link.cut()

            async def broker_reported_away() -> bool:
                status, body = await readiness(billing)
                return status == 200 and body["broker"] == "disconnected"

            await wait_for(broker_reported_away, timeout=15)
            placed = await place_order(client, admin, "while-the-broker-is-away")
            assert placed.status_code == 201, placed.text
            status, body = await readiness(billing)
            assert status == 200 and body["checks"] == {"database": True}
            assert body["outbox_pending"] >= 1  # billing.order.placed waits in the outbox
            assert (await readiness(system.gateway))[0] == 200

            await broker_link.restore()

            async def outbox_flushed() -> bool:
                status, body = await readiness(billing)
                return status == 200 and body["broker"] == "connected" and body["outbox_pending"] == 0

            await wait_for(outbox_flushed, timeout=30)
            assert await unsent_events(billing_database) == 0

            # --- billing's database away: billing unready, the gateway still ready
            await gate.refuse()
            status, body = await readiness(billing)
            assert status == 503 and body["code"] == "not_ready" and body["checks"] == {"database": False}
            assert body["broker"] == "connected"
            assert (await readiness(system.gateway))[0] == 200
            await gate.restore()
            await wait_for(lambda: _status_is(billing, 200), timeout=15)

            # --- billing stopped: its routes are 503, the edge stays ready and routes the rest
            await billing.stop()
            gone = await client.call("GET", "/api/billing/balance", admin)
            assert gone.status_code == 503 and gone.json()["code"] == "service_unavailable", gone.text
            invoices = await client.call("GET", "/api/invoices", admin)  # invoicing never ran
            assert invoices.status_code == 503 and invoices.json()["code"] == "service_unavailable"
            status, body = await readiness(system.gateway)
            assert status == 200 and body == {"status": "ready", "checks": {"ip_rules": True}, "broker": "connected"}
            assert (await client.call("GET", "/api/auth/me", admin)).status_code == 200
    finally:
        await broker_link.cut()
        await gate.cut()


async def _status_is(replica: Replica, wanted: int) -> bool:
    return (await readiness(replica))[0] == wanted


async def test_a_billing_replica_sent_sigterm_under_load_fails_no_request_and_loses_nothing(
    processes: Callable[..., Awaitable[Processes]], amqp_url: str
) -> None:
    system = await processes(billing_replicas=2)
    leaving, staying = system.billing
    db = system.billing_database
    limits = httpx.Limits(max_connections=16)
    async with httpx.AsyncClient(base_url=system.gateway.url, timeout=120, limits=limits) as http:
        client, admin = await customer(http, db)
        answers: dict[str, int] = {}
        stop_load = asyncio.Event()

        async def keep_ordering(worker: int) -> None:
            number = 0
            while not stop_load.is_set():
                order_id = f"w{worker}-{number}"
                answer = await place_order(client, admin, order_id)
                answers[order_id] = answer.status_code
                number += 1

        load = [asyncio.create_task(keep_ordering(worker)) for worker in range(12)]
        await wait_for(lambda: _at_least(answers, 40), timeout=60)

        # A burst of events for billing's queue, both replicas consuming it, then SIGTERM amid it.
        events = [account_created_event() for _ in range(400)]
        await asyncio.gather(*(publish_raw(amqp_url, e.type, e.to_json(), e.id) for e in events[:200]))
        assert leaving.process is not None
        async with httpx.AsyncClient(base_url=leaving.url, timeout=5) as probe:
            assert (await probe.get("/readyz")).status_code == 200  # a kept-alive connection, as a prober holds
            leaving.process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            await asyncio.sleep(0.05)
            # At once; new connections are refused from now on, this one is answered and then closed.
            unready = await probe.get("/readyz")
            assert unready.status_code == 503 and unready.json()["code"] == "shutting_down", unready.text
            assert unready.headers["connection"] == "close"
        await asyncio.gather(*(publish_raw(amqp_url, e.type, e.to_json(), e.id) for e in events[200:]))

        returncode = await asyncio.to_thread(leaving.process.wait, 30)
        exited_after = time.monotonic() - signalled
        after_exit = len(answers) + 40
        await wait_for(lambda: _at_least(answers, after_exit), timeout=60)  # the load goes on
        stop_load.set()
        await asyncio.gather(*load)

    # uvicorn re-raises the signal once it has shut down gracefully.
    assert returncode in (0, -signal.SIGTERM), leaving.log_tail()
    assert exited_after < 20, f"took {exited_after:.1f}s"  # TOLLGATE_SHUTDOWN_GRACE_SECONDS
    log = leaving.log_path.read_text()
    assert "consumers cancelled, 0 messages left unsettled" in log, leaving.log_tail()
    assert "outbox flushed" in log

    failed = {order_id: status for order_id, status in answers.items() if status != 201}
    assert not failed, failed
    orders = await fetch(
        db, 'SELECT order_id, count(*) AS n FROM "order" WHERE account_id = $1 GROUP BY order_id', admin.account_id
    )
    assert {row["order_id"]: row["n"] for row in orders} == dict.fromkeys(answers, 1)

    async def every_event_published() -> bool:
        return await unsent_events(db) == 0

    await wait_for(every_event_published, timeout=30)
    placed = await fetch(
        db,
        "SELECT count(*) AS n FROM outbox WHERE event_type = 'billing.order.placed' AND sent_at IS NOT NULL",
    )
    assert placed[0]["n"] == len(answers)

    async def burst_applied() -> bool:
        rows = await fetch(
            db, "SELECT count(*) AS n FROM wallet WHERE account_id = ANY($1::text[])", [e.account_id for e in events]
        )
        return int(rows[0]["n"]) == len(events)

    await wait_for(burst_applied, timeout=60)
    handled = await fetch(
        db, "SELECT count(*) AS n FROM inbox WHERE event_id = ANY($1::text[])", [e.id for e in events]
    )
    assert handled[0]["n"] == len(events)
    assert await queue_counts(amqp_url, ACCOUNT_QUEUE) == (0, 1)  # drained; only the staying replica consumes
    assert await parked_or_delayed(amqp_url) == 0
    assert staying.process is not None and staying.process.poll() is None


async def _at_least(answers: dict[str, int], count: int) -> bool:
    return len(answers) >= count
