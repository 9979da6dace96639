"""A database that is briefly away costs a retry, never an event or a 500 (DESIGN §10, issue 15).

Billing reaches the real PostgreSQL through a `PostgresGate` the test closes:
refused (down), answering "starting up" or "shutting down" (57P03), or ending
its sessions (57P01, `pg_terminate_backend`, as a shutdown does). Consumers
stop taking messages meanwhile and resume by themselves, with nothing parked
and every event applied once; requests answer 503 `database_unavailable`
with `Retry-After`, then 200 once it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker

from billing.adapters.tables import messaging
from tests.support.auth_client import AuthClient
from tests.support.events import (
    ACCOUNT_QUEUE,
    CountingHandler,
    account_created_event,
    parked_or_delayed,
    publish_raw,
    queue_counts,
    wallets,
)
from tests.support.harness import DatabaseFactory, amqp_url_via, fetch, wait_for
from tests.support.postgres_gate import PostgresGate, terminate_sessions
from tollgate.throwaway import TcpProxy
from tollgate_shared.bus import OutgoingMessage, PublishFailed, Subscription
from tollgate_shared.bus.inprocess import InProcessBroker, InProcessBus
from tollgate_shared.db import create_engine
from tollgate_shared.inbox import inbox_handler
from tollgate_shared.outbox import outbox_session_info

pytestmark = pytest.mark.integration


@pytest.fixture
async def gate(databases: DatabaseFactory) -> AsyncIterator[PostgresGate]:
    gate = PostgresGate(databases.admin_url)
    await gate.start()
    yield gate
    await gate.cut()


async def readiness(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        body: dict[str, Any] = (await client.get(f"{url}/readyz")).json()
        return body


async def test_a_consumer_whose_database_is_down_stops_parks_nothing_and_resumes_by_itself(
    start_system: Any, amqp_url: str, gate: PostgresGate
) -> None:
    handler = CountingHandler()
    system = await start_system(
        services=("billing",), billing_consumers=handler.consumers(), database_gates={"billing": gate}
    )
    billing_database = system.database_urls["billing"]
    assert await queue_counts(amqp_url, ACCOUNT_QUEUE) == (0, 1)

    await gate.refuse()
    events = [account_created_event() for _ in range(5)]  # in hand together when the database fails
    for event in events:
        await publish_raw(amqp_url, event.type, event.to_json(), event.id)
    # Far longer than the retry tiers (0.2 s, 0.4 s) took to park them before.
    await asyncio.sleep(3)

    assert await parked_or_delayed(amqp_url) == 0
    # Given back, not held: the messages wait in the queue, which has no consumer meanwhile.
    assert await queue_counts(amqp_url, ACCOUNT_QUEUE) == (5, 0)
    paused = await readiness(system.urls["billing"])
    assert paused["checks"]["database"] is False and paused["consuming_paused"] is True

    await gate.starting_up()  # on its way back: "the database system is starting up"
    await asyncio.sleep(1.5)
    assert await parked_or_delayed(amqp_url) == 0
    assert await queue_counts(amqp_url, ACCOUNT_QUEUE) == (5, 0)

    await gate.restore()
    for event in events:
        await wait_for(lambda event=event: wallets(billing_database, event.account_id), timeout=30)
    await wait_for(lambda: _equal(queue_counts(amqp_url, ACCOUNT_QUEUE), (0, 1)), timeout=10)
    await asyncio.sleep(0.5)  # room for a second, wrong delivery
    assert [await wallets(billing_database, event.account_id) for event in events] == [1] * 5
    assert handler.calls == 5  # nothing ran twice; no failed attempt reached the handler
    assert await parked_or_delayed(amqp_url) == 0
    resumed = await readiness(system.urls["billing"])
    assert resumed["status"] == "ready" and resumed["consuming_paused"] is False


async def _equal(found: Any, wanted: Any) -> bool:
    return bool(await found == wanted)


async def test_an_in_process_delivery_to_a_database_that_is_down_stays_with_its_publisher(
    databases: DatabaseFactory, gate: PostgresGate
) -> None:
    """The in-process bus (embedded mode, or PostgreSQL without a broker) parks nothing either:
    the publish fails, so the publisher's outbox row stays unsent and its relay tries again."""
    database_url = await databases.fresh("billing")
    engine = create_engine(gate.url_of(database_url))
    factory = async_sessionmaker(engine, expire_on_commit=False, info=outbox_session_info(messaging, "billing"))
    handler = CountingHandler()
    broker = InProcessBroker()
    bus = InProcessBus(broker, retry_delays=(0.05, 0.05))
    handlers = handler.consumers()[ACCOUNT_QUEUE]
    bus.subscribe(
        Subscription(ACCOUNT_QUEUE, tuple(handlers), inbox_handler(ACCOUNT_QUEUE, handlers, factory, messaging))
    )
    await bus.start()
    event = account_created_event()
    message = OutgoingMessage(event.id, event.type, event.to_json())
    try:
        await gate.refuse()
        with pytest.raises(PublishFailed):
            await bus.publish(message)
        assert broker.dead_letters == {}

        await gate.restore()
        await bus.publish(message)  # the relay's next try
        assert await wallets(database_url, event.account_id) == 1
    finally:
        await bus.close()
        await engine.dispose()


@contextlib.asynccontextmanager
async def wallet_locked(database_url: str) -> AsyncIterator[int]:
    """Hold `wallet` locked (from outside the gate), so a request reading it waits in its query; yields the pid."""
    url = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(url)
    try:
        async with connection.transaction():
            await connection.execute("LOCK TABLE wallet IN ACCESS EXCLUSIVE MODE")
            yield int(await connection.fetchval("SELECT pg_backend_pid()"))
    finally:
        await connection.close()


async def waiting_on_a_lock(database_url: str) -> bool:
    rows = await fetch(
        database_url,
        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
        make_url(database_url).database,
    )
    return int(rows[0]["n"]) > 0


def assert_unavailable(answer: httpx.Response) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.json()["code"] == "database_unavailable"
    assert answer.headers["retry-after"] == "1"


async def test_requests_while_the_database_is_down_starting_or_stopping_answer_503_then_200(
    start_system: Any, gate: PostgresGate
) -> None:
    system = await start_system(services=("auth", "billing"), database_gates={"billing": gate})
    billing_database = system.database_urls["billing"]
    async with httpx.AsyncClient(base_url=system.gateway, timeout=30) as http:
        client = AuthClient(http)
        admin = await client.sign_up()

        async def balance() -> httpx.Response:
            return await client.call("GET", "/api/billing/balance", admin)

        assert (await balance()).status_code == 200

        await gate.refuse()  # down: connections refused
        assert_unavailable(await balance())

        await gate.starting_up()  # "the database system is starting up" (CannotConnectNowError)
        assert_unavailable(await balance())
        await gate.restore()
        assert (await balance()).status_code == 200

        # Shutting down: the query in flight ends with 57P01, new sessions are refused with 57P03.
        async with wallet_locked(billing_database) as locker:
            in_flight = asyncio.create_task(balance())
            await wait_for(lambda: waiting_on_a_lock(billing_database))
            await gate.shutting_down()
            assert await terminate_sessions(billing_database, sparing=locker) >= 1
            assert_unavailable(await in_flight)
            assert_unavailable(await balance())

        await gate.restore()
        assert (await balance()).status_code == 200


async def test_consumers_paused_for_the_database_resume_after_a_broker_reconnect_meanwhile(
    start_system: Any, amqp_url: str, gate: PostgresGate
) -> None:
    target = urlsplit(amqp_url)
    link = TcpProxy(target.hostname or "127.0.0.1", target.port or 5672)
    await link.start()
    handler = CountingHandler()
    system = await start_system(
        services=("billing",),
        billing_consumers=handler.consumers(),
        amqp_urls={"billing": amqp_url_via(link, amqp_url)},
        database_gates={"billing": gate},
    )
    try:
        await gate.refuse()
        event = account_created_event()
        await publish_raw(amqp_url, event.type, event.to_json(), event.id)
        await wait_for(lambda: _equal(queue_counts(amqp_url, ACCOUNT_QUEUE), (1, 0)), timeout=10)

        await link.cut()  # the reconnect must not bring the paused consumer back
        await asyncio.sleep(1)
        await link.restore()
        await wait_for(lambda: _ready_bus(system.urls["billing"]), timeout=30)
        await asyncio.sleep(1)
        assert await queue_counts(amqp_url, ACCOUNT_QUEUE) == (1, 0)

        await gate.restore()
        await wait_for(lambda: wallets(system.database_urls["billing"], event.account_id), timeout=30)
        await wait_for(lambda: _equal(queue_counts(amqp_url, ACCOUNT_QUEUE), (0, 1)), timeout=10)
        assert handler.calls == 1
        assert await parked_or_delayed(amqp_url) == 0
    finally:
        await link.cut()


async def _ready_bus(url: str) -> bool:
    return bool((await readiness(url))["broker"] == "connected")
