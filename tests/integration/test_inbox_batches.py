"""Deliveries that arrive together are applied in one transaction, each still exactly once.

The inbox on PostgreSQL and on SQLite (embedded mode), then a whole batch
through real RabbitMQ with a failing event among good ones.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
import pytest
from pydantic import BaseModel
from sqlalchemy import Column, Integer, MetaData, String, Table, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.support.harness import DatabaseFactory, wait_for
from tollgate_shared.batch_handler import BatchHandler, event_data
from tollgate_shared.bus import Delivery, PoisonMessage, Subscription, topology
from tollgate_shared.bus.rabbitmq import RabbitMQBus
from tollgate_shared.db import create_engine, new_metadata
from tollgate_shared.events import Envelope, new_event
from tollgate_shared.events.models import InvoicePaid
from tollgate_shared.inbox import inbox_handler
from tollgate_shared.messaging_tables import MessagingTables, add_messaging_tables
from tollgate_shared.outbox import OUTBOX_INFO_KEY

pytestmark = pytest.mark.integration

EVENT_TYPE = "invoicing.invoice.paid"  # consumed by no service: only the test's queue gets these
CONSUMER = "tests.inbox"


@dataclass
class Consumer:
    """A consuming service's database, and a handler that applies one effect row per event."""

    engine: AsyncEngine
    tables: MessagingTables
    effect: Table
    failing: dict[str, type[Exception]] = field(default_factory=dict)
    calls: list[tuple[str, int]] = field(default_factory=list)
    """(event id, the session it was applied in), every call."""

    @property
    def session_factory(self) -> async_sessionmaker[AsyncSession]:
        return async_sessionmaker(self.engine, expire_on_commit=False, info={OUTBOX_INFO_KEY: self.tables})

    async def apply(self, session: AsyncSession, envelope: Envelope) -> None:
        self.calls.append((envelope.id, session.info.setdefault("tests.transaction", uuid.uuid4().int)))
        await session.execute(self.effect.insert().values(event_id=envelope.id))
        if envelope.id in self.failing:
            raise self.failing[envelope.id](f"cannot apply {envelope.id}")

    def handler(self, **options: Any) -> Any:
        return inbox_handler(CONSUMER, {EVENT_TYPE: self.apply}, self.session_factory, self.tables, **options)

    async def effects(self) -> list[str]:
        async with self.session_factory() as session:
            return list((await session.execute(select(self.effect.c.event_id))).scalars())

    async def inbox(self) -> list[str]:
        inbox = self.tables.inbox
        async with self.session_factory() as session:
            return list((await session.execute(select(inbox.c.event_id))).scalars())

    def sessions_of(self, event_ids: list[str]) -> set[int]:
        return {session for event_id, session in self.calls if event_id in event_ids}


def schema() -> tuple[MetaData, MessagingTables, Table]:
    metadata = new_metadata()
    tables = add_messaging_tables(metadata)
    effect = Table("applied", metadata, Column("event_id", String(36), primary_key=True))
    return metadata, tables, effect


@pytest.fixture(params=["postgresql", "sqlite"])
async def consumer(
    request: pytest.FixtureRequest, databases: DatabaseFactory, tmp_path: Path
) -> AsyncIterator[Consumer]:
    metadata, tables, effect = schema()
    engine = await databases.engine_with_tables(request.param, metadata, tmp_path)
    yield Consumer(engine, tables, effect)
    await engine.dispose()


def an_event() -> Envelope:
    data = InvoicePaid(invoice_id=str(uuid.uuid4()), number="T-1", order_id=None)
    return new_event(data, source="tests", account_id=str(uuid.uuid4()))


def delivery_of(envelope: Envelope) -> Delivery:
    return Delivery(envelope.id, envelope.type, envelope.to_json(), {})


async def test_a_failing_event_in_a_batch_fails_alone_and_the_others_apply_once(consumer: Consumer) -> None:
    events = [an_event() for _ in range(11)]
    bad, poison = events[4], events[8]
    consumer.failing = {bad.id: RuntimeError, poison.id: PoisonMessage}
    handle = consumer.handler(max_transactions=1)

    results = await asyncio.gather(*(handle(delivery_of(e)) for e in events), return_exceptions=True)

    assert isinstance(results[4], RuntimeError) and isinstance(results[8], PoisonMessage)
    assert [r for i, r in enumerate(results) if i not in (4, 8)] == [None] * 9
    good = [e.id for e in events if e not in (bad, poison)]
    together = consumer.calls[:5]  # one transaction, until the failing event broke it
    assert [event_id for event_id, _ in together] == [e.id for e in events[:5]]
    assert len({session for _, session in together}) == 1
    assert len(consumer.sessions_of([e.id for e in events])) == 1 + 11  # then each in its own
    assert sorted(await consumer.effects()) == sorted(good)
    assert sorted(await consumer.inbox()) == sorted(good)

    consumer.failing = {}  # the cause is fixed; the retries arrive
    assert await asyncio.gather(handle(delivery_of(bad)), handle(delivery_of(poison))) == [None, None]
    assert sorted(await consumer.effects()) == sorted(e.id for e in events)


async def test_deliveries_arriving_together_share_a_transaction(consumer: Consumer) -> None:
    events = [an_event() for _ in range(30)]
    handle = consumer.handler(max_transactions=1, max_batch=50)

    await asyncio.gather(*(handle(delivery_of(e)) for e in events))

    assert len(consumer.sessions_of([e.id for e in events])) == 1
    assert sorted(await consumer.effects()) == sorted(e.id for e in events)


async def test_the_same_event_twice_in_one_batch_or_again_later_has_one_effect(consumer: Consumer) -> None:
    first, second = an_event(), an_event()
    handle = consumer.handler()

    await asyncio.gather(handle(delivery_of(first)), handle(delivery_of(first)), handle(delivery_of(second)))
    await asyncio.gather(handle(delivery_of(second)), handle(delivery_of(first)))

    assert sorted(await consumer.effects()) == sorted([first.id, second.id])
    assert [event_id for event_id, _ in consumer.calls].count(first.id) == 1


async def test_a_batch_handler_gets_the_fresh_events_of_a_batch_at_once_in_delivery_order(consumer: Consumer) -> None:
    handled, later, fresh = an_event(), an_event(), [an_event() for _ in range(5)]
    batches: list[list[str]] = []

    async def apply_batch(session: AsyncSession, envelopes: list[Envelope]) -> None:
        batches.append([envelope.id for envelope in envelopes])
        for envelope in envelopes:
            await consumer.apply(session, envelope)

    handle = inbox_handler(CONSUMER, BatchHandler((EVENT_TYPE,), apply_batch), consumer.session_factory,
                           consumer.tables, max_transactions=1)  # fmt: skip
    await handle(delivery_of(handled))
    arriving = [fresh[0], handled, fresh[1], fresh[1], fresh[2], later, fresh[3], later, fresh[4]]

    await asyncio.gather(*(handle(delivery_of(e)) for e in arriving))

    assert batches == [[handled.id], [fresh[0].id, fresh[1].id, fresh[2].id, later.id, fresh[3].id, fresh[4].id]]
    assert sorted(await consumer.effects()) == sorted(e.id for e in [handled, later, *fresh])


async def test_a_batch_handler_reads_the_data_the_inbox_validated_on_arrival(
    consumer: Consumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    validated: list[str] = []
    validate = Envelope.parsed_data

    def counted(envelope: Envelope) -> BaseModel:
        validated.append(envelope.id)
        return validate(envelope)

    monkeypatch.setattr(Envelope, "parsed_data", counted)
    read: list[BaseModel] = []

    async def apply_batch(session: AsyncSession, envelopes: list[Envelope]) -> None:
        read.extend(event_data(envelope) for envelope in envelopes)

    handle = inbox_handler(CONSUMER, BatchHandler((EVENT_TYPE,), apply_batch), consumer.session_factory,
                           consumer.tables)  # fmt: skip
    events = [an_event() for _ in range(3)]

    await asyncio.gather(*(handle(delivery_of(e)) for e in events))

    assert [data.model_dump(mode="json") for data in read] == [e.data for e in events]
    assert validated == [e.id for e in events]  # once each, on arrival


async def test_a_failing_batch_handler_is_called_again_with_one_event_at_a_time(consumer: Consumer) -> None:
    events = [an_event() for _ in range(6)]
    poison = events[3]
    consumer.failing = {poison.id: PoisonMessage}
    sizes: list[int] = []

    async def apply_batch(session: AsyncSession, envelopes: list[Envelope]) -> None:
        sizes.append(len(envelopes))
        for envelope in envelopes:
            await consumer.apply(session, envelope)

    handle = inbox_handler(CONSUMER, BatchHandler((EVENT_TYPE,), apply_batch), consumer.session_factory,
                           consumer.tables, max_transactions=1)  # fmt: skip
    results = await asyncio.gather(*(handle(delivery_of(e)) for e in events), return_exceptions=True)

    assert [isinstance(r, PoisonMessage) for r in results] == [e is poison for e in events]
    assert sizes == [6, 1, 1, 1, 1, 1, 1]
    assert sorted(await consumer.effects()) == sorted(e.id for e in events if e is not poison)
    assert sorted(await consumer.inbox()) == sorted(e.id for e in events if e is not poison)


async def test_a_batch_gives_way_to_a_transaction_that_locks_its_rows_the_other_way_round(
    databases: DatabaseFactory,
) -> None:
    metadata, tables, _ = schema()
    row = Table("counter", metadata, Column("name", String(10), primary_key=True), Column("value", Integer))
    engine = create_engine(await databases.with_tables(metadata))
    try:
        async with engine.begin() as connection:
            await connection.execute(row.insert(), [{"name": "x", "value": 0}, {"name": "y", "value": 0}])
        first, second = an_event(), an_event()
        locks = {first.id: "x", second.id: "y"}  # the batch locks x, then y
        holds_x, go_on = asyncio.Event(), asyncio.Event()

        async def count(session: AsyncSession, envelope: Envelope) -> None:
            name = locks[envelope.id]
            await session.execute(update(row).where(row.c.name == name).values(value=row.c.value + 1))
            if envelope.id == first.id and not go_on.is_set():
                holds_x.set()
                await go_on.wait()

        factory = async_sessionmaker(engine, expire_on_commit=False, info={OUTBOX_INFO_KEY: tables})
        handle = inbox_handler(CONSUMER, {EVENT_TYPE: count}, factory, tables, max_transactions=1)
        batch = asyncio.gather(handle(delivery_of(first)), handle(delivery_of(second)))
        await asyncio.wait_for(holds_x.wait(), timeout=10)

        async def request() -> None:  # y, then x: the other way round
            async with factory() as session, session.begin():
                for name in ("y", "x"):
                    await session.execute(update(row).where(row.c.name == name).values(value=row.c.value + 10))

        requested = asyncio.create_task(request())
        await asyncio.sleep(0.2)  # it holds y and waits for x
        go_on.set()

        await asyncio.wait_for(requested, timeout=10)  # not chosen as a deadlock's victim
        assert await asyncio.wait_for(batch, timeout=10) == [None, None]
        async with factory() as session:
            values = dict((await session.execute(select(row.c.name, row.c.value))).tuples().all())
        assert values == {"x": 11, "y": 11}  # the request and each event applied once
    finally:
        await engine.dispose()


async def test_a_failing_event_among_a_burst_through_rabbitmq_is_parked_alone(
    consumer: Consumer, amqp_url: str
) -> None:
    queue = f"tests.inbox-{uuid.uuid4().hex[:8]}"
    events = [an_event() for _ in range(40)]
    bad = events[17]
    consumer.failing = {bad.id: RuntimeError}
    retry_delays = (0.2, 0.4)
    bus = RabbitMQBus(amqp_url, connection_name=f"{queue}-consumer", prefetch=100, retry_delays=retry_delays)
    bus.subscribe(Subscription(queue, (EVENT_TYPE,), consumer.handler()))
    try:
        await bus.start()
        async with await aio_pika.connect(amqp_url) as connection:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.get_exchange(topology.EXCHANGE)
            for envelope in events:  # in flight together, as a relay publishes a batch
                await exchange.publish(
                    aio_pika.Message(envelope.to_json(), message_id=envelope.id), routing_key=EVENT_TYPE
                )

            good = sorted(e.id for e in events if e is not bad)
            await wait_for(lambda: _equal(consumer.effects(), good), timeout=30)
            dead_letters = await channel.declare_queue(topology.dead_letter_queue(queue), passive=True)
            await wait_for(lambda: _message_count(channel, dead_letters.name), timeout=30)
            await asyncio.sleep(0.5)  # room for a wrong redelivery
            parked = await dead_letters.get(no_ack=True)
            assert parked.message_id == bad.id
            assert await _message_count(channel, dead_letters.name) == 0  # it alone
        assert sorted(await consumer.effects()) == good
        attempts = [event_id for event_id, _ in consumer.calls]
        assert max(attempts.count(event_id) for event_id in good) <= 2  # at most its batch, then alone
        assert attempts.count(bad.id) >= 1 + len(retry_delays)  # every tier, then parked
    finally:
        await bus.close()
        await _delete_queues(amqp_url, queue, retry_delays)


async def _equal(found: Any, wanted: list[str]) -> bool:
    return sorted(await found) == wanted


async def _message_count(channel: aio_pika.abc.AbstractChannel, name: str) -> int:
    queue = await channel.declare_queue(name, passive=True)
    return queue.declaration_result.message_count or 0


async def _delete_queues(amqp_url: str, queue: str, retry_delays: tuple[float, ...]) -> None:
    names = [queue, topology.dead_letter_queue(queue), *(topology.retry_queue(queue, d) for d in retry_delays)]
    async with await aio_pika.connect(amqp_url) as connection:
        channel = await connection.channel()
        for name in names:
            await channel.queue_delete(name)
