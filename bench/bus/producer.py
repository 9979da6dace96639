"""The producing service: request-like transactions that record events, and its outbox relay.

Wired as `create_service_app` wires a service: the session factory's `info`
carries the outbox tables and the relay's wake-up, and the relay runs in the
same event loop as the requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bench.bus.schema import Schema, bench_event, producer_schema
from tollgate_shared.bus.rabbitmq import RabbitMQBus
from tollgate_shared.db import create_engine
from tollgate_shared.outbox import WAKE_INFO_KEY, outbox_session_info, record_events
from tollgate_shared.outbox_relay import OutboxRelay

Commits = dict[str, float]
"""Event id → producer commit time (time.time(), just after the commit)."""


@dataclass
class ProducerSide:
    amqp_url: str
    database_url: str
    connection_name: str
    pool_size: int
    batch_size: int
    run_account_id: str
    schema: Schema = field(default_factory=producer_schema)
    engine: AsyncEngine | None = None
    session_factory: async_sessionmaker[AsyncSession] | None = None
    bus: RabbitMQBus | None = None
    relay: OutboxRelay | None = None
    relay_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.engine = create_engine(self.database_url, pool_size=self.pool_size)
        self.session_factory = async_sessionmaker(
            self.engine, expire_on_commit=False, info=outbox_session_info(self.schema.messaging, "bench")
        )
        self.bus = RabbitMQBus(self.amqp_url, connection_name=self.connection_name)
        self.relay = OutboxRelay(self.session_factory, self.schema.messaging, self.bus, batch_size=self.batch_size)
        self.session_factory.kw["info"][WAKE_INFO_KEY] = self.relay.wake
        await self.bus.start()
        self.resume_relay()

    async def pause_relay(self, wait_seconds: float = 60) -> None:
        """Stop the relay once the outbox is drained, so no claimed batch is left behind."""
        assert self.session_factory is not None
        outbox = self.schema.messaging.outbox
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            async with self.session_factory() as session:
                unsent = await session.scalar(select(func.count()).where(outbox.c.sent_at.is_(None)))
            if not unsent:
                break
            await asyncio.sleep(0.05)
        else:
            raise TimeoutError(f"the outbox still holds unsent events after {wait_seconds:.0f}s")
        await self._stop_relay()

    def resume_relay(self) -> None:
        assert self.relay is not None
        self.relay_task = asyncio.create_task(self.relay.run(), name="bench-outbox-relay")

    async def _stop_relay(self) -> None:
        if self.relay_task is not None:
            self.relay_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.relay_task
        self.relay_task = None

    async def close(self) -> None:
        await self._stop_relay()
        if self.bus is not None:
            await self.bus.close()
        if self.engine is not None:
            await self.engine.dispose()

    async def produce_one(self) -> tuple[str, float]:
        """One request: a change and its event in one transaction; answer the event id and commit time."""
        assert self.session_factory is not None
        envelope = bench_event(self.run_account_id)
        async with self.session_factory() as session, session.begin():
            await session.execute(
                self.schema.effect.insert().values(event_id=envelope.id, recorded_at=datetime.now(UTC))
            )
            await record_events(session, [envelope])
        return envelope.id, time.time()

    async def burst(self, count: int, producers: int) -> Commits:
        """`count` events from `producers` concurrent request loops, as fast as they go."""
        commits: Commits = {}
        remaining = count

        async def loop() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                event_id, committed = await self.produce_one()
                commits[event_id] = committed

        await asyncio.gather(*(loop() for _ in range(producers)))
        return commits

    async def paced(self, rate: float, seconds: float, producers: int) -> tuple[Commits, float]:
        """Events at `rate` per second for `seconds`; answer the commits and the worst start lag (s)."""
        count = max(1, round(rate * seconds))
        commits: Commits = {}
        next_slot = 0
        worst_lag = 0.0
        start = time.monotonic()

        async def loop() -> None:
            nonlocal next_slot, worst_lag
            while next_slot < count:
                slot = next_slot
                next_slot += 1
                due = start + slot / rate
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                else:
                    worst_lag = max(worst_lag, -delay)
                event_id, committed = await self.produce_one()
                commits[event_id] = committed

        await asyncio.gather(*(loop() for _ in range(producers)))
        return commits, worst_lag
