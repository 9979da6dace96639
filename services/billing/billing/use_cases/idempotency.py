"""Idempotency keys past their time go (the store, adapters/idempotency_store.py, keeps the answers)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from billing.adapters.idempotency_store import delete_keys_made_before

# DESIGN §10 asks for at least 24 hours; `forget_expired_keys` removes them after that.
KEEP_KEYS_FOR = timedelta(hours=24)


async def forget_expired_keys(db: AsyncSession, *, now: datetime) -> int:
    """Delete the keys older than `KEEP_KEYS_FOR`; how many went."""
    return await delete_keys_made_before(db, now - KEEP_KEYS_FOR)
