"""The outbox relay: publishes the outbox's unsent rows with confirms and marks them sent.

`OutboxRelay` publishes unsent rows with confirms, many in flight at once, and
marks them sent; a commit that wrote events wakes it (`outbox.WAKE_INFO_KEY`),
polling is the backstop. At shutdown `stop()` ends its loop and `flush()`
publishes what is left, within a bound.

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
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from opentelemetry import propagate, trace
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tollgate_shared.bus import Bus, OutgoingMessage, PublishFailed
from tollgate_shared.messaging_tables import MessagingTables
from tollgate_shared.metrics.catalogue import published as published_counter
from tollgate_shared.outbox_store import (
    UnsentEvent,
    forget_older_than,
    lease_unsent,
    lock_unsent,
    mark_sent_locked,
    settle_leased,
)
from tollgate_shared.telemetry import spans_recorded

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

# A batch the broker has not confirmed within this is given up (its rows stay
# unsent, their locks are released) and retried on the next cycle.
PUBLISH_TIMEOUT_SECONDS = 30.0
# After a wake-up, wait this long so the other commits of a burst join the batch.
BATCH_WAIT_SECONDS = 0.003
# After a cycle that was woken but found nothing (another replica's relay was
# quicker), wake-ups wait this long: that relay publishes what they announce.
STANDBY_SECONDS = 0.025


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
            except Exception as exc:
                failures += 1
                await self._back_off(exc, failures)
                continue
            failures = 0
            if sent >= self.batch_size:
                continue  # more may be waiting
            empty_in_a_row = empty_in_a_row + 1 if sent == 0 and woken else 0
            await self._stand_by_if_beaten(empty_in_a_row)
            last_cleanup = await self._forget_if_due(last_cleanup)
            woken = await self._wait_for_work()

    async def _back_off(self, failure: Exception, failures: int) -> None:
        log.warning("outbox relay failed (%s); retrying", failure)
        with contextlib.suppress(TimeoutError):  # a stop cuts the backoff short
            await asyncio.wait_for(self._stopping.wait(), timeout=min(0.2 * 2**failures, 10.0))

    async def _stand_by_if_beaten(self, empty_in_a_row: int) -> None:
        if empty_in_a_row >= 2 and self.standby > 0:
            # Woken by this process's commits, yet twice nothing to publish: another
            # replica's relay takes the rows first, and it publishes all it finds. Leave
            # the next ones to it for a moment instead of answering every commit with an
            # empty transaction (docs/decisions.md, Common library). Once is chance: a
            # commit just before the previous cycle read its batch wakes this one for nothing.
            await asyncio.sleep(self.standby)

    async def _forget_if_due(self, last_cleanup: datetime) -> datetime:
        """Once an hour, forget old inbox and outbox entries; when it last did."""
        now = datetime.now(UTC)
        if now - last_cleanup <= timedelta(hours=1):
            return last_cleanup
        await self._forget_old_entries(now)
        return now

    async def _wait_for_work(self) -> bool:
        """Until a commit wakes the relay or the poll interval passes; whether it was woken."""
        woken = await self._woken_within(self.poll_interval)
        if woken and self.batch_wait > 0:
            # Woken by a commit: the other commits of a burst are a few ms
            # behind it, and one batch of many costs little more than one of one.
            await asyncio.sleep(self.batch_wait)
        return woken

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
            rows = await lock_unsent(session, outbox, limit=self.batch_size, idle_limit=self._idle_limit)
            if not rows:
                return 0
            published, failure = await self._publish_all(rows, within=self.publish_timeout)
            if published:
                await mark_sent_locked(session, outbox, published)
        return self._settle(published, failure)

    # --- SQLite or the in-process bus: lease, publish outside a transaction ---
    async def _relay_leased(self) -> int:
        outbox = self.tables.outbox
        rows = await lease_unsent(self.session_factory, outbox, limit=self.batch_size)
        if not rows:
            return 0
        published, failure = await self._publish_all(rows, within=None)
        confirmed = set(published)
        unpublished = [row.seq for row in rows if row.seq not in confirmed]
        await settle_leased(self.session_factory, outbox, sent=published, unsent=unpublished)
        return self._settle(published, failure)

    def _settle(self, published: list[int], failure: BaseException | None) -> int:
        self.published += len(published)
        if failure is not None:
            raise failure
        return len(published)

    # --- publishing --------------------------------------------------------------
    async def _publish_all(
        self, rows: Sequence[UnsentEvent], *, within: float | None
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

    async def _publish(self, row: UnsentEvent) -> None:
        stored = {"traceparent": row.traceparent} if row.traceparent else {}

        async def publish(headers: dict[str, str]) -> None:
            await self.bus.publish(OutgoingMessage(row.event_id, row.event_type, row.payload.encode(), headers))

        if not spans_recorded():
            # No producer span nobody records (docs/decisions.md, Common library): the message
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
            await forget_older_than(self.session_factory, self.tables, now - self.inbox_retention)
        except Exception:
            log.exception("inbox and outbox cleanup failed")


def _in_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
