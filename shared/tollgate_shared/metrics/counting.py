"""Counting what a transaction did, once it is done."""

from __future__ import annotations

from prometheus_client import Counter
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession


def count_after_commit(session: AsyncSession, counter: Counter, amount: float = 1) -> None:
    """Add `amount` to `counter` when `session`'s transaction commits.

    A transaction that rolls back counts nothing, so a batch of events applied
    again one by one, or a request that failed late, is not counted twice.
    """
    event.listen(session.sync_session, "after_commit", lambda _session: counter.inc(amount), once=True)
