"""The outbox relay publishes every event, once, whatever the replicas and the broker do.

Real PostgreSQL (rows locked `FOR UPDATE SKIP LOCKED` while a batch is in
flight) and real RabbitMQ with confirms; SQLite (embedded mode) leases instead.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import aio_pika
import asyncpg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.support.harness import DatabaseFactory, amqp_url_via, wait_for
from tollgate.throwaway import TcpProxy
from tollgate_shared import direct_sql
from tollgate_shared.bus import Delivery, OutgoingMessage, PublishFailed, Subscription
from tollgate_shared.bus.inprocess import InProcessBroker, InProcessBus
from tollgate_shared.bus.rabbitmq import RabbitMQBus, declare_exchanges
from tollgate_shared.db import create_engine, new_metadata
from tollgate_shared.events import new_event
from tollgate_shared.events.models import InvoicePaid
from tollgate_shared.messaging_tables import MessagingTables, add_messaging_tables
from tollgate_shared.outbox import outbox_session_info, record_events
from tollgate_shared.outbox_relay import OutboxRelay
from tollgate_shared.outbox_store import _unsent_query

pytestmark = pytest.mark.integration

EVENT_TYPE = "invoicing.invoice.paid"  # consumed by no service: only the test's queue gets these


@dataclass
class Outbox:
    url: str
    tables: MessagingTables
    engines: list[AsyncEngine]

    def session_factory(self) -> async_sessionmaker[AsyncSession]:
        """A session factory of its own, as each replica has."""
        engine = create_engine(self.url)
        self.engines.append(engine)
        return async_sessionmaker(engine, expire_on_commit=False, info=outbox_session_info(self.tables, "tests"))

    async def write(self, count: int, account_id: str) -> list[str]:
        """`count` events, ten per transaction; their ids in order."""
        factory = self.session_factory()
        ids: list[str] = []
        for start in range(0, count, 10):
            async with factory() as session, session.begin():
                for index in range(start, min(start + 10, count)):
                    data = InvoicePaid(invoice_id=str(uuid.uuid4()), number=f"T-{index}", order_id=None)
                    envelope = new_event(data, source="tests", account_id=account_id)
                    await record_events(session, [envelope])
                    ids.append(envelope.id)
        return ids

    async def sent_ids(self) -> set[str]:
        outbox = self.tables.outbox
        async with self.session_factory()() as session:
            rows = await session.execute(select(outbox.c.event_id).where(outbox.c.sent_at.is_not(None)))
            return set(rows.scalars())

    async def unsent(self) -> int:
        outbox = self.tables.outbox
        async with self.session_factory()() as session:
            return int(await session.scalar(select(func.count()).where(outbox.c.sent_at.is_(None))) or 0)


@pytest.fixture
async def postgres_outbox(databases: DatabaseFactory) -> AsyncIterator[Outbox]:
    metadata = new_metadata()
    tables = add_messaging_tables(metadata)
    outbox = Outbox(await databases.with_tables(metadata), tables, [])
    yield outbox
    for engine in outbox.engines:
        await engine.dispose()


@pytest.fixture
async def test_queue(amqp_url: str) -> AsyncIterator[aio_pika.abc.AbstractQueue]:
    """A queue of the test's own, bound to the events the relay publishes."""
    async with await aio_pika.connect(amqp_url) as connection:
        channel = await connection.channel()
        exchange = await declare_exchanges(channel)
        queue = await channel.declare_queue(f"tests.outbox-{uuid.uuid4().hex[:8]}", exclusive=True)
        await queue.bind(exchange, routing_key=EVENT_TYPE)
        yield queue


async def received_ids(queue: aio_pika.abc.AbstractQueue, account_id: str) -> list[str]:
    """Every message waiting in `queue` of the test's account (taken off the queue)."""
    ids = []
    while (message := await queue.get(no_ack=True, fail=False)) is not None:
        if account_id.encode() in message.body:
            ids.append(message.message_id or "")
    return ids


class RecordingBus(RabbitMQBus):
    """The real bus, remembering what the broker confirmed; slow, so relays overlap."""

    def __init__(self, url: str, *, delay: float = 0.0) -> None:
        super().__init__(url, connection_name=f"tests-relay-{uuid.uuid4().hex[:6]}")
        self.delay = delay
        self.confirmed: list[str] = []

    async def publish(self, message: OutgoingMessage) -> None:
        await asyncio.sleep(self.delay)
        await super().publish(message)
        self.confirmed.append(message.message_id)


async def started(bus: RabbitMQBus) -> RabbitMQBus:
    await bus.start()  # declares tollgate.events before the test's queue binds to it
    return bus


async def test_two_relays_on_one_outbox_publish_every_event_exactly_once(
    postgres_outbox: Outbox, amqp_url: str, test_queue: aio_pika.abc.AbstractQueue
) -> None:
    account_id = str(uuid.uuid4())
    ids = await postgres_outbox.write(400, account_id)
    buses = [RecordingBus(amqp_url, delay=0.02), RecordingBus(amqp_url, delay=0.02)]
    relays = [
        OutboxRelay(postgres_outbox.session_factory(), postgres_outbox.tables, await started(bus), batch_size=25)
        for bus in buses
    ]
    try:
        tasks = [asyncio.create_task(relay.run()) for relay in relays]
        await wait_for(lambda: _is_zero(postgres_outbox.unsent()), timeout=60)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        for bus in buses:
            await bus.close()

    published = buses[0].confirmed + buses[1].confirmed
    assert sorted(published) == sorted(ids)  # each row by one relay, once
    assert buses[0].confirmed and buses[1].confirmed  # both replicas took a share
    delivered = await received_ids(test_queue, account_id)
    assert sorted(delivered) == sorted(ids)


async def test_a_batch_of_publishes_reaches_the_socket_writer_in_one_event_loop_pass(
    amqp_url: str, test_queue: aio_pika.abc.AbstractQueue
) -> None:
    # aiormq queues at most 10 frames for the socket writer by default, and a
    # publisher waiting for room waits a full event-loop pass: a batch of 500 took
    # 50 passes, seconds in a busy service (its relay fell thousands behind).
    bus = await started(RabbitMQBus(amqp_url, connection_name="tests-frame-queue"))
    try:
        assert bus.publish_channel is not None
        channel = await bus.publish_channel.get_underlay_channel()
        first_tag = channel.delivery_tag
        messages = [OutgoingMessage(str(uuid.uuid4()), EVENT_TYPE, b"{}") for _ in range(500)]
        publishes = [asyncio.ensure_future(bus.publish(message)) for message in messages]
        for _ in range(3):
            await asyncio.sleep(0)  # let the publishes run
        queued = channel.delivery_tag - first_tag
        await asyncio.gather(*publishes)
    finally:
        await bus.close()
    assert queued == 500
    assert sorted(await received_ids(test_queue, "")) == sorted(message.message_id for message in messages)


class CuttingBus(RecordingBus):
    """Cuts the link to the broker at its `cut_at`-th publish, once the earlier ones are confirmed."""

    def __init__(self, url: str, link: TcpProxy, cut_at: int) -> None:
        super().__init__(url)
        self.link = link
        self.cut_at = cut_at
        self.calls = 0
        self.cut = asyncio.Event()

    async def publish(self, message: OutgoingMessage) -> None:
        self.calls += 1
        if self.calls == self.cut_at:
            await wait_for(lambda: _at_least(len(self.confirmed), self.cut_at - 1), timeout=10, interval=0.005)
            await self.link.cut()
            self.cut.set()
        elif self.calls > self.cut_at and not self.cut.is_set():
            await self.cut.wait()  # the rest of the batch meets the broken link
        await super().publish(message)


async def test_a_broker_cut_during_a_batch_marks_only_confirmed_events_and_loses_none(
    postgres_outbox: Outbox, amqp_url: str, test_queue: aio_pika.abc.AbstractQueue
) -> None:
    account_id = str(uuid.uuid4())
    ids = await postgres_outbox.write(60, account_id)
    target = urlsplit(amqp_url)
    link = TcpProxy(target.hostname or "127.0.0.1", target.port or 5672)
    await link.start()
    bus = CuttingBus(amqp_url_via(link, amqp_url), link, cut_at=21)
    relay = OutboxRelay(postgres_outbox.session_factory(), postgres_outbox.tables, await started(bus), batch_size=60)
    try:
        with pytest.raises(PublishFailed):
            await relay.relay_once()  # one batch of 60; the link goes down after 20 confirms

        sent = await postgres_outbox.sent_ids()
        assert sent == set(bus.confirmed) and len(sent) == 20  # confirmed, and only confirmed, are sent
        assert set(await received_ids(test_queue, account_id)) >= sent
        await _assert_unsent_rows_are_not_locked(postgres_outbox.url)

        await link.restore()
        await wait_for(lambda: _relayed_everything(relay, postgres_outbox), timeout=60)
    finally:
        await bus.close()
        await link.cut()

    assert await postgres_outbox.sent_ids() == set(ids)
    assert set(bus.confirmed) == set(ids)
    assert set(await received_ids(test_queue, account_id)) | sent == set(ids)


async def _assert_unsent_rows_are_not_locked(url: str) -> None:
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        async with connection.transaction():
            rows = await connection.fetch("SELECT seq FROM outbox WHERE sent_at IS NULL FOR UPDATE NOWAIT")
        assert len(rows) == 40
    finally:
        await connection.close()


async def _relayed_everything(relay: OutboxRelay, outbox: Outbox) -> bool:
    try:
        await relay.relay_once()
    except PublishFailed:
        await asyncio.sleep(0.2)  # the bus is still reconnecting
    return await outbox.unsent() == 0


async def test_on_sqlite_the_relay_leases_rows_and_publishes_through_the_in_process_bus(tmp_path: Path) -> None:
    metadata = new_metadata()
    tables = add_messaging_tables(metadata)
    outbox = Outbox(f"sqlite+aiosqlite:///{tmp_path}/embedded.db", tables, [])
    try:
        engine = create_engine(outbox.url)
        outbox.engines.append(engine)
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        account_id = str(uuid.uuid4())
        ids = await outbox.write(30, account_id)
        seen: list[str] = []

        async def consume(delivery: Delivery) -> None:
            seen.append(delivery.message_id)

        bus = InProcessBus(InProcessBroker())
        bus.subscribe(Subscription("tests.embedded", (EVENT_TYPE,), consume))
        await bus.start()
        relay = OutboxRelay(outbox.session_factory(), tables, bus, batch_size=7)

        while await relay.relay_once():
            pass

        assert sorted(seen) == sorted(ids)
        assert await outbox.sent_ids() == set(ids)
    finally:
        for engine in outbox.engines:
            await engine.dispose()


async def _is_zero(count: object) -> bool:
    return await count == 0  # type: ignore[misc]


async def _at_least(value: int, wanted: int) -> bool:
    return value >= wanted


async def test_the_statement_that_locks_a_batch_sets_the_transactions_idle_limit(postgres_outbox: Outbox) -> None:
    """A relay that goes quiet holding rows is cut off by the server too (at twice the publish timeout)."""
    await postgres_outbox.write(2, account_id=str(uuid.uuid4()))
    params = {"now": datetime.now(UTC), "limit": 10, "idle_limit": "15000ms"}
    async with postgres_outbox.session_factory()() as session, session.begin():
        rows = await direct_sql.fetch(session, _unsent_query(postgres_outbox.tables.outbox, locked=True), params)
        assert len(rows) == 2
        assert (await session.execute(text("SHOW idle_in_transaction_session_timeout"))).scalar() == "15s"
    async with postgres_outbox.session_factory()() as session, session.begin():  # for that transaction only
        assert (await session.execute(text("SHOW idle_in_transaction_session_timeout"))).scalar() == "0"
