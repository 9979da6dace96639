"""The outbox relay's statements: which rows it takes, how it holds them and how it marks them sent.

Two ways of holding a batch (`outbox_relay.py` says when each is used): locked
`FOR UPDATE SKIP LOCKED` in the relay's transaction, or leased by `claimed_until`
in a short one of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Protocol, cast

from sqlalchemy import (
    BigInteger,
    Integer,
    Select,
    String,
    Table,
    TextClause,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tollgate_shared import direct_sql
from tollgate_shared.db import UtcDateTime
from tollgate_shared.messaging_tables import MessagingTables

CLAIM_LEASE = timedelta(seconds=60)
UNSENT_COUNTED_AT_MOST = 10_000


class UnsentEvent(Protocol):
    """An outbox row the relay publishes (a database row: read-only)."""

    @property
    def seq(self) -> int: ...
    @property
    def event_id(self) -> str: ...
    @property
    def event_type(self) -> str: ...
    @property
    def payload(self) -> str: ...
    @property
    def traceparent(self) -> str | None: ...


async def lock_unsent(session: AsyncSession, outbox: Table, *, limit: int, idle_limit: str) -> Sequence[UnsentEvent]:
    """The oldest unsent rows no one holds, locked in `session`'s transaction (PostgreSQL).

    The same statement bounds how long a stuck or vanished relay can hold these
    rows on the server side too (a lost connection is otherwise noticed only by
    TCP keepalive): it sets the transaction's idle limit.
    """
    params = {"now": datetime.now(UTC), "limit": limit, "idle_limit": idle_limit}
    rows: Sequence[UnsentEvent] = await direct_sql.fetch(session, _unsent_query(outbox, locked=True), params)
    return rows


async def mark_sent_locked(session: AsyncSession, outbox: Table, seqs: list[int]) -> None:
    """Mark the locked rows `seqs` sent, in `session`'s transaction."""
    await direct_sql.execute_many(
        session, _mark_sent_statement(outbox.name), [{"sent_at": datetime.now(UTC), "seqs": seqs}]
    )


async def lease_unsent(
    session_factory: async_sessionmaker[AsyncSession], outbox: Table, *, limit: int
) -> Sequence[UnsentEvent]:
    """The oldest unsent rows no one holds, leased for `CLAIM_LEASE` in a transaction of their own."""
    async with session_factory() as session, session.begin():
        params = {"now": datetime.now(UTC), "limit": limit}
        rows = (await session.execute(_unsent_query(outbox, locked=False), params)).all()
        if rows:
            await session.execute(
                update(outbox)
                .where(outbox.c.seq.in_([r.seq for r in rows]))
                .values(claimed_until=datetime.now(UTC) + CLAIM_LEASE)
            )
    return cast(Sequence[UnsentEvent], rows)


async def settle_leased(
    session_factory: async_sessionmaker[AsyncSession], outbox: Table, *, sent: list[int], unsent: list[int]
) -> None:
    """Mark the leased rows `sent` sent and release `unsent` at once, not when the lease runs out."""
    async with session_factory() as session, session.begin():
        if sent:
            await session.execute(update(outbox).where(outbox.c.seq.in_(sent)).values(sent_at=datetime.now(UTC)))
        if unsent:
            await session.execute(update(outbox).where(outbox.c.seq.in_(unsent)).values(claimed_until=None))


async def forget_older_than(
    session_factory: async_sessionmaker[AsyncSession], tables: MessagingTables, cutoff: datetime
) -> None:
    """Delete inbox entries handled and outbox rows sent before `cutoff`."""
    async with session_factory() as session, session.begin():
        inbox, outbox = tables.inbox, tables.outbox
        await session.execute(delete(inbox).where(inbox.c.handled_at < cutoff))
        await session.execute(delete(outbox).where(outbox.c.sent_at < cutoff))


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
