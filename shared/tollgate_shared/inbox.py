"""Idempotent consumers: the inbox row and the handler's effect commit together.

`inbox_handler` turns a service's `EVENT_HANDLERS` (event type → function) into
a bus handler: it parses the envelope (a message that is not the contract is
poison), continues the producer's trace, and runs the function in a transaction
that first records `(consumer, event_id)`. A redelivered event finds its row and
does nothing; the bus acks only after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from functools import lru_cache

from opentelemetry import propagate, trace
from pydantic import ValidationError
from sqlalchemy import DateTime, TextClause, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tollgate_shared.bus import Delivery, PoisonMessage
from tollgate_shared.events import Envelope
from tollgate_shared.events.catalogue import UnknownEventType
from tollgate_shared.messaging_tables import MessagingTables

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

EventHandler = Callable[[AsyncSession, Envelope], Awaitable[None]]


@lru_cache(maxsize=16)
def _claim_statement(table_name: str) -> TextClause:
    # A text statement is compiled once; the dialects' insert().on_conflict_do_nothing()
    # is not cacheable in SQLAlchemy 2.0 and was compiled again for every event.
    # ON CONFLICT DO NOTHING reads the same on PostgreSQL and SQLite (3.24+).
    return text(
        f"INSERT INTO {table_name} (consumer, event_id, handled_at) "  # noqa: S608 (a table name of ours)
        "VALUES (:consumer, :event_id, :handled_at) ON CONFLICT DO NOTHING"
    ).bindparams(bindparam("handled_at", type_=DateTime(timezone=True)))


async def claim_event(session: AsyncSession, tables: MessagingTables, consumer: str, event_id: str) -> bool:
    """Record that `consumer` handles `event_id`; False when it already did."""
    statement = _claim_statement(tables.inbox.name)
    result = await session.execute(
        statement, {"consumer": consumer, "event_id": event_id, "handled_at": datetime.now(UTC)}
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def parse_delivery(delivery: Delivery) -> Envelope:
    """The envelope of `delivery`, validated against the catalogue, or `PoisonMessage`."""
    try:
        envelope = Envelope.from_json(delivery.body)
        envelope.parsed_data()
    except (ValidationError, UnknownEventType, ValueError) as exc:
        raise PoisonMessage(f"{delivery.message_id}: {exc}") from exc
    # Handlers are chosen by the envelope's type and queues are bound by routing
    # key: a message whose two disagree is not what its publisher was allowed to send.
    if delivery.routing_key and delivery.routing_key != envelope.type:
        raise PoisonMessage(f"{delivery.message_id}: type {envelope.type} sent as {delivery.routing_key}")
    return envelope


def inbox_handler(
    consumer: str,
    handlers: Mapping[str, EventHandler],
    session_factory: async_sessionmaker[AsyncSession],
    tables: MessagingTables,
) -> Callable[[Delivery], Awaitable[None]]:
    """A bus handler that applies each event of `handlers` exactly once."""

    async def handle(delivery: Delivery) -> None:
        envelope = parse_delivery(delivery)
        handler = handlers.get(envelope.type)
        if handler is None:
            log.debug("%s ignores %s", consumer, envelope.type)
            return
        parent = propagate.extract(dict(delivery.headers))
        with tracer.start_as_current_span(
            f"{envelope.type} process",
            context=parent,
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.message.id": envelope.id,
                "tollgate.consumer": consumer,
                "tollgate.attempt": delivery.attempt,
            },
        ):
            async with session_factory() as session, session.begin():
                if not await claim_event(session, tables, consumer, envelope.id):
                    log.info("%s already handled %s %s", consumer, envelope.type, envelope.id)
                    return
                await handler(session, envelope)

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
