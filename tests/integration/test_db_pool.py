"""Pooled PostgreSQL connections are checked before use only when they sat idle.

`tollgate_shared.db.ping_when_idle` (in every engine `create_engine` makes) replaces `pool_pre_ping` (three round trips
on every checkout with asyncpg). These tests kill the backend behind a pooled
connection, as a PostgreSQL restart or a firewall dropping an idle link would,
and show which checkouts find out.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.databases import kill_backend
from tollgate_shared.db import create_engine, new_metadata

pytestmark = pytest.mark.integration


async def backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def one_pooled_connection(url: str, idle_seconds: float) -> AsyncEngine:
    return create_engine(url, pool_size=1, ping_after_idle_seconds=idle_seconds)


async def test_a_dead_connection_that_sat_idle_is_replaced_before_use(databases: Any) -> None:
    url = await databases.with_tables(new_metadata())
    engine = await one_pooled_connection(url, idle_seconds=0.2)
    try:
        pid = await backend_pid(engine)
        await kill_backend(url, pid)
        await asyncio.sleep(0.3)
        assert await backend_pid(engine) != pid  # pinged, found dead, replaced: no error
    finally:
        await engine.dispose()


async def test_a_connection_used_moments_ago_is_not_pinged(databases: Any) -> None:
    url = await databases.with_tables(new_metadata())
    engine = await one_pooled_connection(url, idle_seconds=60)
    try:
        pid = await backend_pid(engine)
        await kill_backend(url, pid)
        # No ping within the idle window: the dead link shows on first use (and the pool then drops it).
        with pytest.raises(DBAPIError) as lost:
            await backend_pid(engine)
        assert lost.value.connection_invalidated  # what the services answer as a 503 to retry
        assert await backend_pid(engine) != pid
    finally:
        await engine.dispose()


async def test_connections_beyond_ten_are_kept_open_once_made(databases: Any) -> None:
    """A burst of 15 transactions leaves 15 connections for the next burst (none closed and opened again)."""
    url = await databases.with_tables(new_metadata())
    engine = create_engine(url)
    try:

        async def burst() -> set[int]:
            async def one() -> int:
                async with engine.connect() as connection:
                    pid = int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())
                    await asyncio.sleep(0.2)  # all 15 hold a connection at once
                    return pid

            return set(await asyncio.gather(*(one() for _ in range(15))))

        first = await burst()
        assert len(first) == 15
        assert await burst() == first  # the same backends: with overflow above 10, five were new
    finally:
        await engine.dispose()
