"""Transactional outbox: events are rows written with the change they describe.

`record_event` adds the row in the caller's transaction and asks the relay to
run right after the commit (the session factory's `WAKE_INFO_KEY`). The relay
that publishes the rows is `outbox_relay.OutboxRelay`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from opentelemetry import propagate
from pydantic import BaseModel
from sqlalchemy import Insert, Table, delete, event
from sqlalchemy.ext.asyncio import AsyncSession

from tollgate_shared import direct_sql
from tollgate_shared.events import Envelope, new_event
from tollgate_shared.messaging_tables import MessagingTables

OUTBOX_INFO_KEY = "tollgate.outbox"
SOURCE_INFO_KEY = "tollgate.source"
WAKE_INFO_KEY = "tollgate.outbox_wake"


def current_traceparent() -> str | None:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


def outbox_session_info(tables: MessagingTables, source: str) -> dict[str, Any]:
    """The `info` of a service's session factory: where its outbox is, and the `source` its events carry."""
    return {OUTBOX_INFO_KEY: tables, SOURCE_INFO_KEY: source}


async def record_event(session: AsyncSession, data: BaseModel, *, account_id: str | None) -> Envelope:
    """Record the event whose data is `data` (a catalogue model, which gives its type) in `session`'s
    transaction, from the service the session belongs to; the envelope written."""
    envelope = event_of(session, data, account_id=account_id)
    await record_events(session, [envelope])
    return envelope


def event_of(session: AsyncSession, data: BaseModel, *, account_id: str | None) -> Envelope:
    """A new event whose data is `data`, from the service `session` belongs to (for `record_events`)."""
    return new_event(data, source=session.info[SOURCE_INFO_KEY], account_id=account_id)


async def record_events(
    session: AsyncSession, envelopes: Sequence[Envelope], *, traceparents: Sequence[str | None] | None = None
) -> None:
    """Write `envelopes` to the outbox in `session`'s transaction, in one statement (relayed in this order).

    `traceparents`: the trace each event continues, when not the current one (events written together for
    work done in several spans, as a batch of consumed events).
    """
    if not envelopes:
        return
    tables: MessagingTables = session.info[OUTBOX_INFO_KEY]
    rows = outbox_rows(envelopes, traceparents=traceparents)
    await direct_sql.execute_many(session, _insert_statement(tables.outbox), rows)
    relay_after_commit(session)


def outbox_rows(
    envelopes: Sequence[Envelope], *, traceparents: Sequence[str | None] | None = None
) -> list[dict[str, Any]]:
    """The outbox rows of `envelopes` (for a statement that writes them with other changes in one), each
    continuing the current trace or its own of `traceparents`."""
    if traceparents is None:
        traceparents = [current_traceparent()] * len(envelopes)
    return [
        {
            "event_id": envelope.id,
            "event_type": envelope.type,
            "payload": envelope.model_dump_json(),
            "traceparent": traceparent,
            "created_at": envelope.occurred_at,
        }
        for envelope, traceparent in zip(envelopes, traceparents, strict=True)
    ]


def relay_after_commit(session: AsyncSession) -> None:
    """Wake the relay once `session`'s transaction has committed (it wrote to the outbox)."""
    wake: Callable[[], None] | None = session.info.get(WAKE_INFO_KEY)
    if wake is not None and not session.info.get("tollgate.wake_registered"):
        session.info["tollgate.wake_registered"] = True
        event.listen(session.sync_session, "after_commit", lambda _s: wake(), once=True)


def relay_now(session: AsyncSession) -> None:
    """Wake the relay now: a statement of `session` wrote to the outbox and committed alone
    (`direct_sql.atomic_alone`)."""
    wake: Callable[[], None] | None = session.info.get(WAKE_INFO_KEY)
    if wake is not None:
        wake()


async def discard_events(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
    """Take back events this transaction recorded (uncommitted, so no relay has seen them)."""
    outbox = session.info[OUTBOX_INFO_KEY].outbox
    await session.execute(delete(outbox).where(outbox.c.event_id.in_([envelope.id for envelope in envelopes])))


@lru_cache(maxsize=16)
def _insert_statement(outbox: Table) -> Insert:
    # Built once, values as parameters: `insert().values(...)` built and keyed a
    # new statement for every event (docs/decisions.md, Common library).
    # Inline: the new rows' seq is not fetched back.
    return outbox.insert().inline()
