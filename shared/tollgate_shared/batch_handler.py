"""What an inbox consumer runs on the fresh events of a batch: routing as data.

A queue maps either to per-event handlers (event type → function), as most
consumers want, or to one `BatchHandler` that takes all of a batch's fresh
events at once, so a consumer can write what a whole batch changes in a few
statements instead of a few per event. The inbox runs only batch handlers: the
per-event kind becomes one that loops (`each_event`).

Either way an event gets a consumer span of its own that continues its
producer's trace (`event_span`), as long as the handler opens it while working
on that event.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass

from opentelemetry import context as otel_context
from opentelemetry import trace
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from tollgate_shared.events import Envelope

tracer = trace.get_tracer("tollgate_shared.inbox")

EventHandler = Callable[[AsyncSession, Envelope], Awaitable[None]]
ApplyBatch = Callable[[AsyncSession, list[Envelope]], Awaitable[None]]


@dataclass(frozen=True)
class BatchHandler:
    """One function for the fresh events of a batch of `event_types`: claimed, in delivery order, each once.

    It runs in the batch's transaction; if it raises, the inbox rolls the batch
    back and calls it again with one event at a time, so only the failing event
    fails. Its effects must therefore stay in the session.
    """

    event_types: tuple[str, ...]
    apply: ApplyBatch


Route = Mapping[str, EventHandler] | BatchHandler
"""What a queue's events go to: event type → handler, or one batch handler."""


def as_batch_handler(route: Route) -> BatchHandler:
    """`route` as the batch handler the inbox runs."""
    return route if isinstance(route, BatchHandler) else each_event(route)


def each_event(handlers: Mapping[str, EventHandler]) -> BatchHandler:
    """Per-event handlers as one batch handler: each event's handler in turn, in its own span."""

    async def apply(session: AsyncSession, envelopes: list[Envelope]) -> None:
        for envelope in envelopes:
            with event_span(envelope):
                await handlers[envelope.type](session, envelope)

    return BatchHandler(tuple(handlers), apply)


@dataclass(frozen=True)
class Delivered:
    """How an event reached the consumer: its data as validated on arrival, its producer's trace context and
    which attempt this is."""

    data: BaseModel
    parent: otel_context.Context
    attempt: int


@dataclass(frozen=True)
class _Applying:
    consumer: str
    batch_size: int
    delivered: Mapping[str, Delivered]  # event id → how it came


_APPLYING: ContextVar[_Applying | None] = ContextVar("tollgate_inbox_batch", default=None)


@contextlib.contextmanager
def applying(consumer: str, batch_size: int, delivered: Mapping[str, Delivered]) -> Iterator[None]:
    """While the inbox runs a batch handler: where each of its events came from, for `event_span`."""
    token = _APPLYING.set(_Applying(consumer, batch_size, delivered))
    try:
        yield
    finally:
        _APPLYING.reset(token)


def event_data(envelope: Envelope) -> BaseModel:
    """The data of an event of the batch being applied, as the inbox validated it against the catalogue on
    arrival (validated now for an event outside a batch): a handler need not validate it again."""
    batch = _APPLYING.get()
    delivered = None if batch is None else batch.delivered.get(envelope.id)
    return envelope.parsed_data() if delivered is None else delivered.data


@contextlib.contextmanager
def event_span(envelope: Envelope) -> Iterator[None]:
    """The consumer span of one event of the batch being applied, continuing its producer's trace.

    Outside a batch (a handler called directly) it continues the current trace.
    """
    batch = _APPLYING.get()
    delivered = None if batch is None else batch.delivered.get(envelope.id)
    attributes: dict[str, str | int] = {"messaging.message.id": envelope.id}
    if batch is not None:
        attributes |= {"tollgate.consumer": batch.consumer, "tollgate.batch_size": batch.batch_size}
    if delivered is not None:
        attributes["tollgate.attempt"] = delivered.attempt
    with tracer.start_as_current_span(
        f"{envelope.type} process",
        context=None if delivered is None else delivered.parent,
        kind=trace.SpanKind.CONSUMER,
        attributes=attributes,
    ):
        yield
