"""Transactional outbox: events are rows written with the change they describe.

`record_event` adds the row in the caller's transaction and asks the relay to
run right after the commit. `OutboxRelay` claims unsent rows (`FOR UPDATE SKIP
LOCKED` on PostgreSQL, so replicas share the work), publishes them with
confirms, many in flight at once, and marks them sent; polling is the backstop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from opentelemetry import propagate, trace
from sqlalchemy import Row, and_, delete, event, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tollgate_shared.bus import Bus, OutgoingMessage
from tollgate_shared.events import Envelope
from tollgate_shared.messaging_tables import MessagingTables

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

OUTBOX_INFO_KEY = "tollgate.outbox"
WAKE_INFO_KEY = "tollgate.outbox_wake"
CLAIM_LEASE = timedelta(seconds=60)


def current_traceparent() -> str | None:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


async def record_event(session: AsyncSession, envelope: Envelope) -> None:
    """Write `envelope` to the outbox in `session`'s transaction."""
    tables: MessagingTables = session.info[OUTBOX_INFO_KEY]
    await session.execute(
        tables.outbox.insert().values(
            event_id=envelope.id,
            event_type=envelope.type,
            payload=envelope.model_dump_json(),
            traceparent=current_traceparent(),
            created_at=envelope.occurred_at,
        )
    )
    wake: Callable[[], None] | None = session.info.get(WAKE_INFO_KEY)
    if wake is not None and not session.info.get("tollgate.wake_registered"):
        session.info["tollgate.wake_registered"] = True
        event.listen(session.sync_session, "after_commit", lambda _s: wake(), once=True)


class OutboxRelay:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        tables: MessagingTables,
        bus: Bus,
        *,
        batch_size: int = 500,
        poll_interval: float = 1.0,
        inbox_retention: timedelta = timedelta(days=30),
    ) -> None:
        self.session_factory = session_factory
        self.tables = tables
        self.bus = bus
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.inbox_retention = inbox_retention
        self._wakeup = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
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
        while True:
            self._wakeup.clear()
            try:
                sent = await self.relay_once()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                log.warning("outbox relay failed (%s); retrying", exc)
                await asyncio.sleep(min(0.2 * 2**failures, 10.0))
                continue
            if sent >= self.batch_size:
                continue  # more may be waiting
            now = datetime.now(UTC)
            if now - last_cleanup > timedelta(hours=1):
                last_cleanup = now
                await self._forget_old_entries(now)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=self.poll_interval)

    async def relay_once(self) -> int:
        """Publish one batch of unsent events; answer how many were published."""
        rows = await self._claim()
        if not rows:
            return 0
        results = await asyncio.gather(*(self._publish(row) for row in rows), return_exceptions=True)
        published = [
            row.seq for row, result in zip(rows, results, strict=True) if not isinstance(result, BaseException)
        ]
        if published:
            async with self.session_factory() as session, session.begin():
                await session.execute(
                    update(self.tables.outbox)
                    .where(self.tables.outbox.c.seq.in_(published))
                    .values(sent_at=datetime.now(UTC))
                )
        self.published += len(published)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            await self._release(
                [row.seq for row, result in zip(rows, results, strict=True) if isinstance(result, BaseException)]
            )
            raise failed[0]
        return len(published)

    async def _claim(self) -> Sequence[Row[Any]]:
        outbox = self.tables.outbox
        now = datetime.now(UTC)
        async with self.session_factory() as session, session.begin():
            query = (
                select(outbox.c.seq, outbox.c.event_id, outbox.c.event_type, outbox.c.payload, outbox.c.traceparent)
                .where(
                    and_(
                        outbox.c.sent_at.is_(None), or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now)
                    )
                )
                .order_by(outbox.c.seq)
                .limit(self.batch_size)
            )
            if session.bind.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = (await session.execute(query)).all()
            if rows:
                await session.execute(
                    update(outbox)
                    .where(outbox.c.seq.in_([r.seq for r in rows]))
                    .values(claimed_until=now + CLAIM_LEASE)
                )
        return rows

    async def _release(self, seqs: list[int]) -> None:
        async with self.session_factory() as session, session.begin():
            await session.execute(
                update(self.tables.outbox).where(self.tables.outbox.c.seq.in_(seqs)).values(claimed_until=None)
            )

    async def _publish(self, row: Row[Any]) -> None:
        # Continue the trace of the request that wrote the event, not the relay's.
        parent = propagate.extract({"traceparent": row.traceparent} if row.traceparent else {})
        with tracer.start_as_current_span(f"{row.event_type} publish", context=parent, kind=trace.SpanKind.PRODUCER):
            headers: dict[str, str] = {}
            propagate.inject(headers)
            await self.bus.publish(OutgoingMessage(row.event_id, row.event_type, row.payload.encode(), headers))

    async def _forget_old_entries(self, now: datetime) -> None:
        try:
            async with self.session_factory() as session, session.begin():
                inbox, outbox = self.tables.inbox, self.tables.outbox
                cutoff = now - self.inbox_retention
                await session.execute(delete(inbox).where(inbox.c.handled_at < cutoff))
                await session.execute(delete(outbox).where(outbox.c.sent_at < cutoff))
        except Exception:
            log.exception("inbox and outbox cleanup failed")


def _in_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
