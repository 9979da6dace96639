"""The consuming service, in a process of its own: RabbitMQBus → inbox_handler → `received`.

`ConsumerProcess` is the parent's handle; it drives the child over a pipe.
`("collect", n, wait_seconds)` answers the (event id, commit time) of the
events applied since the last collect once `n` of them arrived (or the wait ran
out), how many redeliveries the inbox turned away and how many events of other
publishers came by meanwhile; `("stop",)` ends it. The commit time is taken right after `inbox_handler` returns, that is
after its transaction committed and before the bus acks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.bus.schema import EVENT_TYPE, consumer_schema
from tollgate_shared.bus import Delivery, Subscription
from tollgate_shared.bus.rabbitmq import RabbitMQBus
from tollgate_shared.db import create_engine
from tollgate_shared.events import Envelope
from tollgate_shared.inbox import inbox_handler
from tollgate_shared.outbox import OUTBOX_INFO_KEY

log = logging.getLogger("bench.bus.consumer")
Records = list[tuple[str, float]]


@dataclass(frozen=True)
class ConsumerConfig:
    amqp_url: str
    database_url: str
    queue: str
    run_account_id: str
    prefetch: int
    pool_size: int
    retry_delays: tuple[float, ...]
    telemetry: bool
    loop: str


def main(config: ConsumerConfig, pipe: Connection) -> None:
    """Process entry point (spawned by the parent)."""
    if config.telemetry:
        from tollgate_shared.telemetry import setup_telemetry

        setup_telemetry("bench-consumer", log_level="WARNING")
    if config.loop == "uvloop":
        import uvloop

        uvloop.run(_serve(config, pipe))
    else:
        asyncio.run(_serve(config, pipe))


async def _serve(config: ConsumerConfig, pipe: Connection) -> None:
    schema = consumer_schema()
    engine = create_engine(config.database_url, pool_size=config.pool_size)
    # As create_service_app builds it (a consumer that records no events needs no wake).
    session_factory = async_sessionmaker(engine, expire_on_commit=False, info={OUTBOX_INFO_KEY: schema.messaging})
    records: Records = []
    wanted = 0
    enough = asyncio.Event()

    applied: set[str] = set()  # effects written by a transaction not yet known to have committed
    strangers: set[str] = set()  # events of the same type published by someone else
    counts = {"redelivered": 0, "foreign": 0}

    async def record_receipt(session: AsyncSession, envelope: Envelope) -> None:
        if envelope.account_id != config.run_account_id:
            strangers.add(envelope.id)
            return
        await session.execute(schema.effect.insert().values(event_id=envelope.id, recorded_at=datetime.now(UTC)))
        applied.add(envelope.id)

    handle = inbox_handler(config.queue, {EVENT_TYPE: record_receipt}, session_factory, schema.messaging)

    async def handle_and_time(delivery: Delivery) -> None:
        await handle(delivery)
        if delivery.message_id in strangers:
            strangers.discard(delivery.message_id)
            counts["foreign"] += 1
            return
        if delivery.message_id not in applied:  # a redelivery the inbox turned away: no second effect
            counts["redelivered"] += 1
            return
        applied.discard(delivery.message_id)
        records.append((delivery.message_id, time.time()))
        if len(records) >= wanted:
            enough.set()

    bus = RabbitMQBus(
        config.amqp_url,
        connection_name=f"{config.queue}-consumer",
        prefetch=config.prefetch,
        retry_delays=config.retry_delays,
    )
    bus.subscribe(Subscription(config.queue, (EVENT_TYPE,), handle_and_time))
    try:
        await bus.start()
        await asyncio.to_thread(pipe.send, ("ready",))
        while True:
            try:
                command = await asyncio.to_thread(pipe.recv)
            except EOFError:  # the parent is gone
                return
            if command[0] == "stop":
                return
            _, wanted, wait_seconds = command
            if len(records) < wanted:
                enough.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(enough.wait(), wait_seconds)
            batch = records[:]
            del records[: len(batch)]
            await asyncio.to_thread(pipe.send, ("records", batch, dict(counts)))
            counts.update(redelivered=0, foreign=0)
    finally:
        await bus.close()
        await engine.dispose()


class ConsumerProcess:
    """The parent's handle on the consumer service running in a spawned process."""

    def __init__(self, config: ConsumerConfig) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipe, child_end = context.Pipe()
        self.process = context.Process(target=main, args=(config, child_end), name="bench-consumer", daemon=True)
        self.process.start()
        child_end.close()
        self.pid = self.process.pid or 0

    async def ready(self, wait_seconds: float) -> None:
        answer = await asyncio.to_thread(_receive, self.pipe, wait_seconds)
        if answer != ("ready",):
            raise RuntimeError(f"consumer did not start: {answer!r}")

    async def collect(self, count: int, wait_seconds: float) -> tuple[Records, dict[str, int]]:
        """What it applied since the last collect, once `count` arrived: (event id, commit time), and
        how many redeliveries and other publishers' events it turned away."""
        await asyncio.to_thread(self.pipe.send, ("collect", count, wait_seconds))
        kind, records, counts = await asyncio.to_thread(_receive, self.pipe, wait_seconds + 30)
        assert kind == "records"
        return list(records), dict(counts)

    async def stop(self) -> None:
        if self.process.is_alive():
            with contextlib.suppress(OSError):
                await asyncio.to_thread(self.pipe.send, ("stop",))
            await asyncio.to_thread(self.process.join, 15)
        if self.process.is_alive():
            self.process.terminate()
            await asyncio.to_thread(self.process.join, 5)
        self.pipe.close()


def _receive(pipe: Connection, wait_seconds: float) -> Any:
    if not pipe.poll(wait_seconds):
        raise TimeoutError(f"no answer from the consumer within {wait_seconds:.0f}s")
    return pipe.recv()
