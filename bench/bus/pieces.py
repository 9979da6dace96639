"""CPU time per event of each piece of the bus, one piece at a time, in one process.

    uv run python -m bench.bus.pieces [--events 2000] [--rounds 3] [--no-telemetry]

Where `bench.bus.run` shows what the pieces do together, this shows what each
costs alone, so a change to one of them can be measured on a noisy machine
(CPU time per event moves much less with the neighbours than events/s does):
the request transaction (`record_event` with a change), the `OutboxRelay`
draining a backlog at several batch sizes (a relay woken after every commit
works in batches of one or two), the consumer (`RabbitMQBus` + `inbox_handler`),
and the bus alone (a handler that does nothing). Writes bench/results/bus-pieces.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.bus.infra import create_database, drop_database, new_run_id, queues_of
from bench.bus.producer import ProducerSide
from bench.bus.schema import EVENT_TYPE, consumer_schema, producer_schema
from bench.common import delete_queues, machine
from tollgate_shared.bus import Delivery, Subscription
from tollgate_shared.bus.rabbitmq import RabbitMQBus
from tollgate_shared.db import create_engine
from tollgate_shared.events import Envelope
from tollgate_shared.inbox import inbox_handler
from tollgate_shared.outbox import OUTBOX_INFO_KEY

RESULTS = Path(__file__).resolve().parents[1] / "results" / "bus-pieces.json"
RETRY_DELAYS = (1.0, 10.0, 60.0)
RELAY_BATCHES = (500, 10, 1)


class Consumer:
    """The consumer service, held back until a piece releases it, counting this run's events."""

    def __init__(self, amqp_url: str, database_url: str, queue: str, run_account_id: str) -> None:
        self.schema = consumer_schema()
        self.engine = create_engine(database_url)
        factory = async_sessionmaker(self.engine, expire_on_commit=False, info={OUTBOX_INFO_KEY: self.schema.messaging})
        self.inbox = inbox_handler(queue, {EVENT_TYPE: self._record}, factory, self.schema.messaging)
        self.run_account_id = run_account_id
        self.bus = RabbitMQBus(amqp_url, connection_name=f"{queue}-consumer", retry_delays=RETRY_DELAYS)
        self.bus.subscribe(Subscription(queue, (EVENT_TYPE,), self._handle))
        self.open = asyncio.Event()
        self.noop = False
        self.handled = 0
        self.target = 0
        self.done = asyncio.Event()

    async def _record(self, session: AsyncSession, envelope: Envelope) -> None:
        await session.execute(self.schema.effect.insert().values(event_id=envelope.id, recorded_at=datetime.now(UTC)))

    async def _handle(self, delivery: Delivery) -> None:
        if self.run_account_id.encode() not in delivery.body:
            return  # another publisher's event of the same type
        await self.open.wait()
        if not self.noop:
            await self.inbox(delivery)
        self.handled += 1
        if self.handled >= self.target:
            self.done.set()

    async def consume(self, count: int, *, noop: bool) -> None:
        # Counted from what was asked before, not from what was handled: deliveries
        # already past the gate when it closed belong to the previous piece.
        self.noop = noop
        self.target += count
        self.done.clear()
        self.open.set()
        await asyncio.wait_for(self.done.wait(), 300)
        self.open.clear()

    async def close(self) -> None:
        await self.bus.close()
        await self.engine.dispose()


async def _timed(work: Callable[[], Awaitable[None]], events: int) -> dict[str, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    await work()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"cpu_ms_per_event": round(cpu / events * 1000, 3), "events_per_s": round(events / wall, 1)}


async def one_round(
    producer: ProducerSide, consumer: Consumer, events: int, producers: int
) -> dict[str, dict[str, float]]:
    assert producer.relay is not None
    relay = producer.relay
    figures = {"request transaction": await _timed(lambda: _requests(producer, events, producers), events)}
    for batch in RELAY_BATCHES:
        if batch != RELAY_BATCHES[0]:
            await _requests(producer, events, producers)
        relay.batch_size = batch
        figures[f"relay, batches of {batch}"] = await _timed(lambda: _drain(producer), events)
    published = events * len(RELAY_BATCHES)
    figures["consumer: bus + inbox_handler"] = await _timed(lambda: consumer.consume(published, noop=False), published)
    await _requests(producer, events, producers)
    relay.batch_size = RELAY_BATCHES[0]
    await _drain(producer)
    figures["consumer: bus alone (handler does nothing)"] = await _timed(
        lambda: consumer.consume(events, noop=True), events
    )
    return figures


async def _requests(producer: ProducerSide, events: int, producers: int) -> None:
    await producer.burst(events, producers)


async def _drain(producer: ProducerSide) -> None:
    assert producer.relay is not None
    while await producer.relay.relay_once():
        pass


async def run(args: argparse.Namespace) -> dict[str, Any]:
    run_id = new_run_id()
    queue = f"bench.bus-pieces-{run_id}"
    names = {"producer": f"bench_{run_id}_producer", "consumer": f"bench_{run_id}_consumer"}
    run_account_id = str(uuid.uuid4())
    created: list[str] = []
    producer: ProducerSide | None = None
    consumer: Consumer | None = None
    try:
        urls = {}
        for side, schema in (("producer", producer_schema()), ("consumer", consumer_schema())):
            urls[side] = await create_database(args.database_url, names[side], schema.metadata)
            created.append(names[side])
        consumer = Consumer(args.amqp_url, urls["consumer"], queue, run_account_id)
        await consumer.bus.start()
        producer = ProducerSide(
            args.amqp_url, urls["producer"], f"{queue}-producer", 10, RELAY_BATCHES[0], run_account_id
        )
        await producer.start()
        await producer.pause_relay()  # the pieces drive the relay themselves
        rounds = []
        async with asyncio.timeout(args.max_seconds):
            for index in range(args.rounds):
                rounds.append(await one_round(producer, consumer, args.events, args.producers))
                print(f"round {index + 1}/{args.rounds} done", file=sys.stderr, flush=True)
        medians = {
            piece: {key: statistics.median(r[piece][key] for r in rounds) for key in rounds[0][piece]}
            for piece in rounds[0]
        }
        return {
            "benchmark": "bus-pieces",
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(),
            "config": {"events": args.events, "producers": args.producers, "telemetry": args.telemetry},
            "rounds": rounds,
            "median": medians,
        }
    finally:
        if producer is not None:
            await producer.close()
        if consumer is not None:
            await consumer.close()
        await delete_queues(args.amqp_url, queues_of(queue, RETRY_DELAYS))
        for name in created:
            await drop_database(args.database_url, name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bus.pieces", description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2_000, help="events per piece and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--producers", type=int, default=8, help="concurrent request loops")
    parser.add_argument("--telemetry", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--amqp-url", default="amqp://guest:guest@127.0.0.1:5672/")
    parser.add_argument("--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--max-seconds", type=float, default=1200)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.telemetry:
        from tollgate_shared.telemetry import setup_telemetry

        setup_telemetry("bench-pieces", log_level="WARNING")
    import uvloop

    results = uvloop.run(run(args))
    width = max(len(piece) for piece in results["median"])
    print(f"{'piece':{width}}  CPU ms/event  events/s (wall)")
    for piece, figures in results["median"].items():
        print(f"{piece:{width}}  {figures['cpu_ms_per_event']:12.3f}  {figures['events_per_s']:15,.0f}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
