"""Idempotent consumers: the inbox row and the handler's effect commit together.

`inbox_handler` turns what a queue's events go to (`batch_handler.Route`: a
service's event type → function, or one `BatchHandler`) into a bus handler: it
parses the envelope (a message that is not the contract is poison) and applies
it in a transaction that first records `(consumer, event_id)`. A redelivered
event finds its row and does nothing; the bus acks only after the commit.

Deliveries that arrive while a transaction is running (the bus has many in
flight) are applied together in the next one: one transaction for a batch, its
fresh events handed to the batch handler at once (per-event handlers take them
in turn, each in its own span that continues the producer's trace). When a
batch fails, its events are applied again one transaction each, so only the
failing event fails.

A failure that says the database is away (`is_database_unavailable`) is no
event's: the batch and everything queued behind it fail at once, raised as
`DependencyUnavailable`, and the bus pauses the consumers until the database
answers instead of counting attempts (DESIGN §10).
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache, partial

from opentelemetry import context as otel_context
from opentelemetry import propagate
from pydantic import BaseModel, ValidationError
from sqlalchemy import TextClause, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tollgate_shared.batch_handler import BatchHandler, Delivered, Route, applying, as_batch_handler
from tollgate_shared.bus import Delivery, DependencyUnavailable, PoisonMessage
from tollgate_shared.db import UtcDateTime
from tollgate_shared.db_availability import database_answers, is_database_unavailable
from tollgate_shared.events import Envelope
from tollgate_shared.events.catalogue import UnknownEventType
from tollgate_shared.messaging_tables import MessagingTables

log = logging.getLogger(__name__)

MAX_BATCH = 50
"""Events applied in one transaction at most."""
MAX_TRANSACTIONS = 2
"""Transactions one consumer runs at once (one prepares while the other commits)."""
BATCH_LOCK_TIMEOUT = "100ms"
"""How long a batch waits for a lock before it is applied one event at a time instead."""
DATABASE = "database"
"""What inbox consumers depend on (`Subscription.depends_on`): their service's database."""


@lru_cache(maxsize=16)
def _claim_many_statement(table_name: str, dialect: str) -> TextClause:
    # One statement for the whole batch, whatever its size: the ids travel as one
    # parameter (an array on PostgreSQL, a JSON list on SQLite 3.38+), and
    # RETURNING names the ids that were not handled before.
    ids = (
        "unnest(CAST(:event_ids AS VARCHAR[])), :handled_at"
        if dialect == "postgresql"
        else "value, :handled_at FROM json_each(:event_ids)"
    )
    return text(
        f"INSERT INTO {table_name} (consumer, event_id, handled_at) "
        # WHERE true: SQLite would read ON CONFLICT as part of the SELECT's join.
        f"SELECT :consumer, {ids} WHERE true ON CONFLICT DO NOTHING RETURNING event_id"
    ).bindparams(bindparam("handled_at", type_=UtcDateTime()))


async def claim_events(session: AsyncSession, tables: MessagingTables, consumer: str, event_ids: list[str]) -> set[str]:
    """Record that `consumer` handles `event_ids`; answer those it had not handled before."""
    dialect = session.bind.dialect.name
    ids: list[str] | str = event_ids if dialect == "postgresql" else json.dumps(event_ids)
    result = await session.execute(
        _claim_many_statement(tables.inbox.name, dialect),
        {"consumer": consumer, "event_ids": ids, "handled_at": datetime.now(UTC)},
    )
    return set(result.scalars())


def parse_delivery(delivery: Delivery) -> Envelope:
    """The envelope of `delivery`, validated against the catalogue, or `PoisonMessage`."""
    envelope, _ = validated_delivery(delivery)
    return envelope


def validated_delivery(delivery: Delivery) -> tuple[Envelope, BaseModel]:
    """The envelope of `delivery` and its data, validated against the catalogue, or `PoisonMessage`."""
    try:
        envelope = Envelope.from_json(delivery.body)
        data = envelope.parsed_data()
    except (ValidationError, UnknownEventType, ValueError) as exc:
        raise PoisonMessage(f"{delivery.message_id}: {exc}") from exc
    # Handlers are chosen by the envelope's type and queues are bound by routing
    # key: a message whose two disagree is not what its publisher was allowed to send.
    if delivery.routing_key and delivery.routing_key != envelope.type:
        raise PoisonMessage(f"{delivery.message_id}: type {envelope.type} sent as {delivery.routing_key}")
    return envelope, data


@dataclass
class _Pending:
    """One delivery waiting for the transaction that applies it."""

    envelope: Envelope
    data: BaseModel  # as validated on arrival
    parent: otel_context.Context
    attempt: int
    done: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class _Inbox:
    """The deliveries of one consumer, applied in shared transactions."""

    def __init__(
        self,
        consumer: str,
        handler: BatchHandler,
        session_factory: async_sessionmaker[AsyncSession],
        tables: MessagingTables,
        max_batch: int,
        max_transactions: int,
    ) -> None:
        self.consumer = consumer
        self.handler = handler
        self.session_factory = session_factory
        self.tables = tables
        self.max_batch = max_batch
        self.max_transactions = max_transactions
        self.queue: list[_Pending] = []
        self.running = 0
        self.workers: set[asyncio.Task[None]] = set()  # strong references

    async def apply(self, item: _Pending) -> None:
        """Return once `item` is committed (or was handled before); raise its own failure."""
        self.queue.append(item)
        if self.running < self.max_transactions:
            self.running += 1
            # A context of its own: not the trace of the delivery that happened to start it.
            worker = asyncio.create_task(self._work(), name=f"{self.consumer}-inbox", context=contextvars.Context())
            self.workers.add(worker)
            worker.add_done_callback(self.workers.discard)
        await item.done

    async def _work(self) -> None:
        batch: list[_Pending] = []
        try:
            while self.queue:
                batch = [item for item in self.queue[: self.max_batch] if not item.done.done()]
                del self.queue[: self.max_batch]
                if batch:
                    await self._apply_batch(batch)
        except BaseException:
            # Cancelled (shutdown): none of these is acked, the broker delivers them again.
            for item in batch + self.queue:
                item.done.cancel()
            self.queue.clear()
            raise
        finally:
            # In the same step as finding the queue empty: a delivery queued after
            # this starts a worker of its own.
            self.running -= 1

    async def _apply_batch(self, batch: list[_Pending]) -> None:
        try:
            await self._transaction(batch)
        except Exception as exc:
            if is_database_unavailable(exc):
                # One by one, each would fail the same way, a connect timeout each.
                self._fail_all(batch, exc)
                return
            if len(batch) == 1:
                _settle(batch[0], exc)
                return
            # Expected now and then (a failing event, lock contention): each event then fails or not on its own.
            log.info("%s: a batch of %d failed (%s); applying them one by one", self.consumer, len(batch), exc)
            for item in batch:
                try:
                    await self._transaction([item])
                except Exception as one:
                    _settle(item, one)
                else:
                    _settle(item, None)
            return
        for item in batch:
            _settle(item, None)

    def _fail_all(self, batch: list[_Pending], error: Exception) -> None:
        """Fail `batch` and the deliveries queued behind it with `error`."""
        waiting, self.queue = self.queue, []
        for item in batch + waiting:
            _settle(item, error)

    async def _transaction(self, batch: list[_Pending]) -> None:
        async with self.session_factory() as session, session.begin():
            if len(batch) > 1 and session.bind.dialect.name == "postgresql":
                # A batch holds the locks of its earlier events while its later ones
                # take theirs: an order no handler was written for. Against a request
                # locking the same rows the other way round, the batch gives up well
                # before PostgreSQL's deadlock check (1 s) would pick a victim, perhaps
                # the request, and its events are applied one per transaction instead.
                await session.execute(_LOCK_TIMEOUT, {"timeout": BATCH_LOCK_TIMEOUT})
            fresh_ids = await claim_events(session, self.tables, self.consumer, [item.envelope.id for item in batch])
            fresh: list[_Pending] = []
            for item in batch:
                envelope = item.envelope
                if envelope.id not in fresh_ids:  # handled before, or twice in this batch
                    log.info("%s already handled %s %s", self.consumer, envelope.type, envelope.id)
                    continue
                fresh_ids.discard(envelope.id)
                fresh.append(item)
            if not fresh:
                return
            delivered = {item.envelope.id: Delivered(item.data, item.parent, item.attempt) for item in fresh}
            with applying(self.consumer, len(batch), delivered):
                await self.handler.apply(session, [item.envelope for item in fresh])


_LOCK_TIMEOUT = text("SELECT set_config('lock_timeout', :timeout, true)")


def _settle(item: _Pending, error: BaseException | None) -> None:
    if item.done.done():  # its delivery was given up meanwhile (the bus closed)
        return
    if error is None:
        item.done.set_result(None)
    else:
        item.done.set_exception(error)


def inbox_handler(
    consumer: str,
    route: Route,
    session_factory: async_sessionmaker[AsyncSession],
    tables: MessagingTables,
    *,
    max_batch: int = MAX_BATCH,
    max_transactions: int = MAX_TRANSACTIONS,
) -> Callable[[Delivery], Awaitable[None]]:
    """A bus handler that applies each event `route` takes exactly once.

    It returns after the transaction that applied the event committed, and
    raises the event's own failure (`PoisonMessage` included), or
    `DependencyUnavailable` when the database is away.
    """
    handler = as_batch_handler(route)
    taken = frozenset(handler.event_types)
    inbox = _Inbox(consumer, handler, session_factory, tables, max_batch, max_transactions)
    answers = partial(database_answers, session_factory.kw["bind"])

    async def handle(delivery: Delivery) -> None:
        envelope, data = validated_delivery(delivery)
        if envelope.type not in taken:
            log.debug("%s ignores %s", consumer, envelope.type)
            return
        parent = propagate.extract(dict(delivery.headers))
        try:
            await inbox.apply(_Pending(envelope, data, parent, delivery.attempt))
        except Exception as exc:
            if is_database_unavailable(exc):
                raise DependencyUnavailable(DATABASE, answers) from exc
            raise

    return handle


def only_from_publisher(
    broker_user: str, handler: Callable[[Delivery], Awaitable[None]]
) -> Callable[[Delivery], Awaitable[None]]:
    """Accept a delivery only when the broker vouches that `broker_user` published it.

    RabbitMQ refuses a `user_id` property that differs from the publishing
    connection's login, so the property proves who sent the message.
    """

    async def guarded(delivery: Delivery) -> None:
        if delivery.user_id != broker_user:
            raise PoisonMessage(f"{delivery.message_id}: published by {delivery.user_id!r}, not {broker_user!r}")
        await handler(delivery)

    return guarded
