"""Transactional outbox: events are rows written with the change they describe.

`record_event` adds the row in the caller's transaction and asks the relay to
run right after the commit. `OutboxRelay` publishes unsent rows with confirms,
many in flight at once, and marks them sent; polling is the backstop. At
shutdown `stop()` ends its loop and `flush()` publishes what is left, within a
bound.

On PostgreSQL with a broker (the distributed way) one relay cycle is one
transaction: lock a batch `FOR UPDATE SKIP LOCKED`, publish it, mark what the
broker confirmed sent, commit. Elsewhere (SQLite, or the in-process bus, which
delivers inside `publish`) the relay leases a batch in a short transaction and
publishes outside any transaction. docs/decisions.md says why.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from opentelemetry import propagate, trace
from pydantic import BaseModel
from sqlalchemy import (
    BigInteger,
    Insert,
    Integer,
    Row,
    Select,
    String,
    Table,
    TextClause,
    and_,
    bindparam,
    delete,
    event,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tollgate_shared import direct_sql
from tollgate_shared.bus import Bus, OutgoingMessage, PublishFailed
from tollgate_shared.db import UtcDateTime
from tollgate_shared.events import Envelope, new_event
from tollgate_shared.messaging_tables import MessagingTables
from tollgate_shared.metrics.catalogue import published as published_counter
from tollgate_shared.telemetry import spans_recorded

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

OUTBOX_INFO_KEY = "tollgate.outbox"
SOURCE_INFO_KEY = "tollgate.source"
WAKE_INFO_KEY = "tollgate.outbox_wake"
CLAIM_LEASE = timedelta(seconds=60)
# A batch the broker has not confirmed within this is given up (its rows stay
# unsent, their locks are released) and retried on the next cycle.
PUBLISH_TIMEOUT_SECONDS = 30.0
# After a wake-up, wait this long so the other commits of a burst join the batch.
BATCH_WAIT_SECONDS = 0.003
# After a cycle that was woken but found nothing (another replica's relay was
# quicker), wake-ups wait this long: that relay publishes what they announce.
STANDBY_SECONDS = 0.025


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
    envelope = new_event(data, source=session.info[SOURCE_INFO_KEY], account_id=account_id)
    await record_events(session, [envelope])
    return envelope


async def record_events(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
    """Write `envelopes` to the outbox in `session`'s transaction, in one statement (relayed in this order)."""
    if not envelopes:
        return
    tables: MessagingTables = session.info[OUTBOX_INFO_KEY]
    traceparent = current_traceparent()
    rows = [
        {
            "event_id": envelope.id,
            "event_type": envelope.type,
            "payload": envelope.model_dump_json(),
            "traceparent": traceparent,
            "created_at": envelope.occurred_at,
        }
        for envelope in envelopes
    ]
    await direct_sql.execute_many(session, _insert_statement(tables.outbox), rows)
    wake: Callable[[], None] | None = session.info.get(WAKE_INFO_KEY)
    if wake is not None and not session.info.get("tollgate.wake_registered"):
        session.info["tollgate.wake_registered"] = True
        event.listen(session.sync_session, "after_commit", lambda _s: wake(), once=True)


async def discard_events(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
    """Take back events this transaction recorded (uncommitted, so no relay has seen them)."""
    outbox = session.info[OUTBOX_INFO_KEY].outbox
    await session.execute(delete(outbox).where(outbox.c.event_id.in_([envelope.id for envelope in envelopes])))


UNSENT_COUNTED_AT_MOST = 10_000


async def unsent_count(session_factory: async_sessionmaker[AsyncSession], tables: MessagingTables) -> int | None:
    """Events waiting in the outbox, counted up to `UNSENT_COUNTED_AT_MOST` (`/readyz`); None if unknown."""
    outbox = tables.outbox
    # The partial index of unsent rows answers it; the limit keeps a long broker outage cheap to report.
    waiting = select(outbox.c.seq).where(outbox.c.sent_at.is_(None)).limit(UNSENT_COUNTED_AT_MOST).subquery()
    try:
        async with asyncio.timeout(2.0), session_factory() as session:
            return int((await session.execute(select(func.count()).select_from(waiting))).scalar_one())
    except Exception:
        return None


class OutboxRelay:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        tables: MessagingTables,
        bus: Bus,
        *,
        batch_size: int = 500,
        poll_interval: float = 1.0,
        batch_wait: float = BATCH_WAIT_SECONDS,
        standby: float = STANDBY_SECONDS,
        publish_timeout: float = PUBLISH_TIMEOUT_SECONDS,
        inbox_retention: timedelta = timedelta(days=30),
        service: str = "service",
    ) -> None:
        self.session_factory = session_factory
        self.service = service  # the `service` label of `tollgate_events_published_total`
        self.tables = tables
        self.bus = bus
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.batch_wait = batch_wait
        self.standby = standby
        self.publish_timeout = publish_timeout
        # How long a relay's transaction may sit idle holding rows: twice the publish timeout.
        self._idle_limit = f"{round(2 * publish_timeout * 1000)}ms"
        self.inbox_retention = inbox_retention
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._holds_locks: bool | None = None
        self.published = 0

    def wake(self) -> None:
        """Run now (called after a commit that wrote events); safe from any thread."""
        loop = self._loop
        if loop is None:
            return
        if _in_loop(loop):
            self._wakeup.set()
        else:
            loop.call_soon_threadsafe(self._wakeup.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        failures = 0
        last_cleanup = datetime.min.replace(tzinfo=UTC)
        woken = False
        empty_in_a_row = 0
        while not self._stopping.is_set():
            self._wakeup.clear()
            try:
                sent = await self.relay_once()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                log.warning("outbox relay failed (%s); retrying", exc)
                with contextlib.suppress(TimeoutError):  # a stop cuts the backoff short
                    await asyncio.wait_for(self._stopping.wait(), timeout=min(0.2 * 2**failures, 10.0))
                continue
            if sent >= self.batch_size:
                continue  # more may be waiting
            empty_in_a_row = empty_in_a_row + 1 if sent == 0 and woken else 0
            if empty_in_a_row >= 2 and self.standby > 0:
                # Woken by this process's commits, yet twice nothing to publish:
                # another replica's relay takes the rows first, and it publishes all
                # it finds. Leave the next ones to it for a moment instead of answering
                # every commit with an empty transaction (with two billing replicas on
                # one account, four cycles in five were empty: a quarter of each
                # replica's CPU, bench/README.md). Once is chance: a commit just before
                # the previous cycle read its batch wakes this one for nothing.
                await asyncio.sleep(self.standby)
            now = datetime.now(UTC)
            if now - last_cleanup > timedelta(hours=1):
                last_cleanup = now
                await self._forget_old_entries(now)
            woken = await self._woken_within(self.poll_interval)
            if woken and self.batch_wait > 0:
                # Woken by a commit: the other commits of a burst are a few ms
                # behind it, and one batch of many costs little more than one of one.
                await asyncio.sleep(self.batch_wait)

    def stop(self) -> None:
        """End `run` after the cycle under way, if any (a shutdown then calls `flush`)."""
        self._stopping.set()
        self._wakeup.set()

    async def flush(self, within: float) -> int:
        """Publish every unsent event, batch after batch, for at most `within` seconds; answer how many.

        What cannot be published now (the broker is away, the time is up) stays in
        the outbox for the next relay of this service, whichever replica runs it.
        """
        published = 0
        try:
            async with asyncio.timeout(within):
                while (sent := await self.relay_once()) > 0:
                    published += sent
        except TimeoutError:
            log.warning("outbox flush stopped after %.1fs; the rest waits in the outbox", within)
        except Exception as exc:
            log.warning("outbox flush failed (%s); the events wait in the outbox", exc)
        return published

    async def _woken_within(self, seconds: float) -> bool:
        if self._wakeup.is_set():
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout=seconds)
            return True
        return False

    async def relay_once(self) -> int:
        """Publish one batch of unsent events; answer how many were published.

        Raises (after marking the confirmed ones sent) when some could not be published.
        """
        if self._locks_rows():
            return await self._relay_locked()
        return await self._relay_leased()

    def _locks_rows(self) -> bool:
        if self._holds_locks is None:
            dialect = getattr(self.session_factory.kw.get("bind"), "dialect", None)
            self._holds_locks = dialect is not None and dialect.name == "postgresql" and not self.bus.delivers_inline
        return self._holds_locks

    # --- PostgreSQL: one transaction per cycle, rows locked while publishing ---
    async def _relay_locked(self) -> int:
        # Locks rather than the lease below: one transaction a cycle instead of two,
        # and a relay that dies releases its rows with its connection, not after a
        # lease. Other replicas skip the locked rows; once this commits they are sent.
        # The cost, a transaction open while the broker confirms, is weighed in
        # docs/decisions.md.
        outbox = self.tables.outbox
        async with self.session_factory() as session, session.begin():
            # The same statement bounds how long a stuck or vanished relay can hold these
            # rows on the server side too (a lost connection is otherwise noticed only by
            # TCP keepalive): it sets the transaction's idle limit.
            params = {**self._unsent_params(), "idle_limit": self._idle_limit}
            rows = await direct_sql.fetch(session, _unsent_query(outbox, locked=True), params)
            if not rows:
                return 0
            published, failure = await self._publish_all(rows, within=self.publish_timeout)
            if published:
                await direct_sql.execute_many(
                    session, _mark_sent_statement(outbox.name), [{"sent_at": datetime.now(UTC), "seqs": published}]
                )
        return self._settle(published, failure)

    # --- SQLite or the in-process bus: lease, publish outside a transaction ---
    async def _relay_leased(self) -> int:
        rows = await self._lease()
        if not rows:
            return 0
        published, failure = await self._publish_all(rows, within=None)
        outbox = self.tables.outbox
        confirmed = set(published)
        unpublished = [row.seq for row in rows if row.seq not in confirmed]
        async with self.session_factory() as session, session.begin():
            if published:
                await session.execute(
                    update(outbox).where(outbox.c.seq.in_(published)).values(sent_at=datetime.now(UTC))
                )
            if unpublished:  # released at once, not when the lease runs out
                await session.execute(update(outbox).where(outbox.c.seq.in_(unpublished)).values(claimed_until=None))
        return self._settle(published, failure)

    async def _lease(self) -> Sequence[Row[Any]]:
        outbox = self.tables.outbox
        async with self.session_factory() as session, session.begin():
            rows = (await session.execute(_unsent_query(outbox, locked=False), self._unsent_params())).all()
            if rows:
                await session.execute(
                    update(outbox)
                    .where(outbox.c.seq.in_([r.seq for r in rows]))
                    .values(claimed_until=datetime.now(UTC) + CLAIM_LEASE)
                )
        return rows

    def _unsent_params(self) -> dict[str, Any]:
        return {"now": datetime.now(UTC), "limit": self.batch_size}

    def _settle(self, published: list[int], failure: BaseException | None) -> int:
        self.published += len(published)
        if failure is not None:
            raise failure
        return len(published)

    # --- publishing --------------------------------------------------------------
    async def _publish_all(
        self, rows: Sequence[Row[Any]], *, within: float | None
    ) -> tuple[list[int], BaseException | None]:
        """Publish `rows`, all in flight at once; the seqs the broker confirmed, and the first failure."""
        tasks = [asyncio.ensure_future(self._publish(row)) for row in rows]
        try:
            _, pending = await asyncio.wait(tasks, timeout=within)
        finally:
            for task in tasks:
                task.cancel()  # no-op for the finished ones
        if pending:
            await asyncio.wait(pending)
        published: list[int] = []
        failure: BaseException | None = None
        for row, task in zip(rows, tasks, strict=True):
            if task in pending or task.cancelled():
                failure = failure or PublishFailed(f"no confirm within {within}s")
            elif (error := task.exception()) is not None:
                failure = failure or error
            else:
                published.append(row.seq)
                published_counter(self.service, row.event_type).inc()
        return published, failure

    async def _publish(self, row: Row[Any]) -> None:
        stored = {"traceparent": row.traceparent} if row.traceparent else {}

        async def publish(headers: dict[str, str]) -> None:
            await self.bus.publish(OutgoingMessage(row.event_id, row.event_type, row.payload.encode(), headers))

        if not spans_recorded():
            # No producer span nobody records (≈ 0.1 ms per event): the message
            # carries the writer's trace context as it was stored.
            await publish(stored)
            return
        # Continue the trace of the request that wrote the event, not the relay's.
        parent = propagate.extract(stored)
        with tracer.start_as_current_span(f"{row.event_type} publish", context=parent, kind=trace.SpanKind.PRODUCER):
            headers: dict[str, str] = {}
            propagate.inject(headers)
            await publish(headers)

    async def _forget_old_entries(self, now: datetime) -> None:
        try:
            async with self.session_factory() as session, session.begin():
                inbox, outbox = self.tables.inbox, self.tables.outbox
                cutoff = now - self.inbox_retention
                await session.execute(delete(inbox).where(inbox.c.handled_at < cutoff))
                await session.execute(delete(outbox).where(outbox.c.sent_at < cutoff))
        except Exception:
            log.exception("inbox and outbox cleanup failed")


@lru_cache(maxsize=16)
def _insert_statement(outbox: Table) -> Insert:
    # Built once, values as parameters: `insert().values(...)` built and keyed a
    # new statement for every event (bench.bus: about half the CPU record_event took).
    # Inline: the new rows' seq is not fetched back.
    return outbox.insert().inline()


@lru_cache(maxsize=32)
def _unsent_query(outbox: Table, *, locked: bool) -> Select[Any]:
    """The oldest unsent rows nobody holds: not leased, and (`locked`) not locked."""
    query = (
        select(outbox.c.seq, outbox.c.event_id, outbox.c.event_type, outbox.c.payload, outbox.c.traceparent)
        .where(
            and_(
                outbox.c.sent_at.is_(None),
                # A lease taken by a relay that publishes outside a transaction.
                or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < bindparam("now")),
            )
        )
        .order_by(outbox.c.seq)
        .limit(bindparam("limit", type_=Integer))
    )
    if not locked:
        return query
    # PostgreSQL: the transaction's idle limit, set with the rows it locks (one round trip, not two).
    idle_limit = func.set_config("idle_in_transaction_session_timeout", bindparam("idle_limit", type_=String), True)
    return query.add_columns(idle_limit.label("idle_limit")).with_for_update(skip_locked=True)


@lru_cache(maxsize=16)
def _mark_sent_statement(table_name: str) -> TextClause:
    # One statement and one array parameter, whatever the batch size.
    return text(f"UPDATE {table_name} SET sent_at = :sent_at WHERE seq = ANY(:seqs)").bindparams(  # noqa: S608 (our table)
        bindparam("sent_at", type_=UtcDateTime()), bindparam("seqs", type_=ARRAY(BigInteger))
    )


def _in_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
