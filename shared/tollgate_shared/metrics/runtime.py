"""The gauges of a running service read at scrape time: its outbox, its bus, its queues on the broker."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tollgate_shared.bus import Bus, topology
from tollgate_shared.messaging_tables import MessagingTables
from tollgate_shared.metrics.catalogue import (
    BROKER_CONNECTED,
    CONSUMERS_PAUSED,
    DEAD_LETTER_MESSAGES,
    DEPENDENCIES,
    GAUGES,
    OUTBOX_OLDEST_PENDING,
    OUTBOX_PENDING,
    UNROUTED_MESSAGES,
    start_at_zero,
)
from tollgate_shared.metrics.scrape import BROKER_EVERY, DATABASE_EVERY, SCRAPE_READERS, Reader


def read_bus_state(service: str, bus: Bus) -> Reader:
    """`tollgate_broker_connected` and `tollgate_consumers_paused`: the bus's own state, no I/O."""

    async def read() -> None:
        BROKER_CONNECTED.labels(service).set(1 if bus.is_ready() else 0)
        paused = bus.paused_for
        for dependency in DEPENDENCIES:
            CONSUMERS_PAUSED.labels(service, dependency).set(1 if dependency in paused else 0)

    return read


def read_queue_depths(service: str, bus: Bus, work_queues: Sequence[str]) -> Reader:
    """`tollgate_dead_letter_messages` of `work_queues` and `tollgate_unrouted_messages`, from the broker."""
    dead_letter_queues = {topology.dead_letter_queue(queue): queue for queue in work_queues}

    async def read() -> None:
        counts = await bus.message_counts([*dead_letter_queues, topology.UNROUTED_QUEUE])
        for name, queue in dead_letter_queues.items():
            if name in counts:
                DEAD_LETTER_MESSAGES.labels(service, queue).set(counts[name])
        if topology.UNROUTED_QUEUE in counts:
            UNROUTED_MESSAGES.labels(service).set(counts[topology.UNROUTED_QUEUE])

    return read


def read_outbox(service: str, sessions: async_sessionmaker[AsyncSession], tables: MessagingTables) -> Reader:
    """`tollgate_outbox_pending_events` and `tollgate_outbox_oldest_pending_seconds`: one query on the unsent rows."""
    outbox = tables.outbox
    # The unsent rows are few and under a partial index (`ix_outbox_unsent`).
    query = select(func.count(), func.min(outbox.c.created_at)).where(outbox.c.sent_at.is_(None))

    async def read() -> None:
        async with sessions() as session:
            pending, oldest = (await session.execute(query)).one()
        OUTBOX_PENDING.labels(service).set(pending)
        age = (datetime.now(UTC) - _aware(oldest)).total_seconds() if oldest is not None else 0.0
        OUTBOX_OLDEST_PENDING.labels(service).set(max(age, 0.0))

    return read


def _aware(moment: datetime | str) -> datetime:
    # An aggregate may come back without the column type's conversion (SQLite keeps timestamps as text).
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def watch_service(
    service: str,
    *,
    bus: Bus,
    work_queues: Sequence[str] = (),
    sessions: async_sessionmaker[AsyncSession] | None = None,
    tables: MessagingTables | None = None,
    database_readers: Sequence[tuple[str, Reader]] = (),
    readers: Sequence[tuple[str, Reader]] = (),
) -> Callable[[], None]:
    """Add the readers of one running service to the scrape; answers the function that takes them away again.

    `database_readers` run at most every `DATABASE_EVERY` seconds, `readers` (no I/O) at every scrape. Its
    counters start at 0 (`start_at_zero`: the queues it consumes, its fixed outcomes).
    """
    start_at_zero(service, [subscription.queue for subscription in bus.subscriptions])
    removers = [
        SCRAPE_READERS.add(f"{service}-bus", read_bus_state(service, bus), every=0),
        SCRAPE_READERS.add(f"{service}-queues", read_queue_depths(service, bus, work_queues), every=BROKER_EVERY),
        *(SCRAPE_READERS.add(f"{service}-{name}", read, every=0) for name, read in readers),
    ]
    if sessions is not None and tables is not None:
        removers.append(
            SCRAPE_READERS.add(f"{service}-outbox", read_outbox(service, sessions, tables), every=DATABASE_EVERY)
        )
    for name, read in database_readers:
        removers.append(SCRAPE_READERS.add(f"{service}-{name}", read, every=DATABASE_EVERY))

    def stop() -> None:
        for remove in removers:
            remove()
        _forget(service)

    return stop


def _forget(service: str) -> None:
    """A stopped service's gauges go: a value nobody updates any more would read as current."""
    for gauge in GAUGES:
        gauge.remove_by_labels({"service": service})
