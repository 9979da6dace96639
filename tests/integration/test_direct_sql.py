"""Hot statements run straight on asyncpg inside the session's transaction (`tollgate_shared.direct_sql`).

Real PostgreSQL, and SQLite for the embedded mode, where the same calls go
through the session. What must hold: the statement is part of the session's
transaction (it commits and rolls back with it, even as its first statement),
rows read as SQLAlchemy's do, and errors are SQLAlchemy's (an integrity error,
a lost connection flagged so the pool drops it and the service answers 503).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, BigInteger, Column, String, Table, bindparam, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.support.databases import kill_backend
from tollgate_shared import direct_sql
from tollgate_shared.db import UtcDateTime, create_engine, new_metadata

pytestmark = pytest.mark.integration

metadata = new_metadata()
item = Table(
    "item",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("amount_minor", BigInteger, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("extra", JSON, nullable=True),  # a type whose results SQLAlchemy converts
)
INSERT = item.insert()
# `amount_minor >= 0`: a value the statement holds itself, bound with the caller's.
BY_ID = select(item.c.id, item.c.amount_minor, item.c.created_at).where(
    item.c.id == bindparam("p_id"), item.c.amount_minor >= 0
)
WITH_JSON = select(item.c.id, item.c.extra).where(item.c.id == bindparam("p_id"))
IN_LIST = select(item.c.id).where(item.c.id.in_(bindparam("p_ids", expanding=True)))
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["postgresql", "sqlite"])
async def engine(request: Any, databases: Any, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    options = {"pool_size": 1} if request.param == "postgresql" else {}
    made = await databases.engine_with_tables(request.param, metadata, tmp_path, **options)
    yield made
    await made.dispose()


def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def count(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text("SELECT count(*) FROM item"))).scalar_one())


async def test_rows_read_by_attribute_and_statements_commit_with_the_transaction(engine: AsyncEngine) -> None:
    async with sessions(engine)() as session, session.begin():
        await direct_sql.execute_many(
            session, INSERT, [{"id": f"i{n}", "amount_minor": n * 100, "created_at": NOW} for n in range(3)]
        )
        row = await direct_sql.first(session, BY_ID, {"p_id": "i2"})
        assert row is not None
        assert (row.id, row.amount_minor) == ("i2", 200)
        assert row.created_at == NOW and row.created_at.tzinfo == UTC
        assert await direct_sql.first(session, BY_ID, {"p_id": "nope"}) is None
    assert await count(engine) == 3


async def test_times_read_back_in_utc_with_their_offset_on_the_driver_and_through_the_session(
    engine: AsyncEngine,
) -> None:
    """An instant bound with any offset reads back as the same instant, aware, in UTC (SQLite keeps no offset)."""
    india = timezone(timedelta(hours=5, minutes=30))
    async with sessions(engine)() as session, session.begin():
        await direct_sql.execute_many(
            session, INSERT, [{"id": "t", "amount_minor": 1, "created_at": NOW.astimezone(india)}]
        )
        on_the_driver = await direct_sql.first(session, BY_ID, {"p_id": "t"})
        through_the_session = (await session.execute(select(item.c.created_at).where(item.c.id == "t"))).scalar_one()
        later = await session.scalar(select(item.c.id).where(item.c.created_at > NOW - timedelta(seconds=1)))
    assert on_the_driver is not None
    for moment in (on_the_driver.created_at, through_the_session):
        assert moment == NOW and moment.utcoffset() == timedelta(0), moment
    assert later == "t"  # compared as instants, whatever offset each side was written with
    if engine.dialect.name == "postgresql":  # still run on asyncpg: the column type converts nothing there
        async with sessions(engine)() as session:
            assert direct_sql._direct(session, BY_ID, ("p_id",)) is not None


async def test_a_first_statement_on_the_driver_is_inside_the_transaction(engine: AsyncEngine) -> None:
    """The driver path begins the transaction itself: a rollback undoes what it wrote."""
    async with sessions(engine)() as session:
        async with session.begin():
            await direct_sql.execute_many(session, INSERT, [{"id": "a", "amount_minor": 1, "created_at": NOW}])
            await session.rollback()
        async with session.begin():
            await direct_sql.execute_many(session, INSERT, [{"id": "b", "amount_minor": 1, "created_at": NOW}])
            await direct_sql.execute_many(session, INSERT, [{"id": "c", "amount_minor": 1, "created_at": NOW}])
            # A statement through the session sees the driver's writes: one transaction, one connection.
            seen = (await session.execute(text("SELECT count(*) FROM item"))).scalar_one()
            assert seen == 2
            await session.rollback()
    assert await count(engine) == 0


async def test_a_result_type_that_converts_goes_through_the_session(engine: AsyncEngine) -> None:
    async with sessions(engine)() as session, session.begin():
        await session.execute(INSERT, {"id": "j", "amount_minor": 1, "created_at": NOW, "extra": {"k": [1, 2]}})
        row = await direct_sql.first(session, WITH_JSON, {"p_id": "j"})
        assert row is not None and row.extra == {"k": [1, 2]}  # decoded, not the driver's JSON text


async def test_a_constraint_violation_is_sqlalchemys_integrity_error(engine: AsyncEngine) -> None:
    async with sessions(engine)() as session:
        with pytest.raises(IntegrityError):
            async with session.begin():
                await direct_sql.execute_many(session, INSERT, [{"id": "d", "amount_minor": 1, "created_at": NOW}] * 2)
    assert await count(engine) == 0


async def test_a_lost_connection_is_flagged_and_dropped_from_the_pool(databases: Any) -> None:
    url = await databases.with_tables(metadata)
    engine = create_engine(url, pool_size=1, ping_after_idle_seconds=60)
    try:
        async with engine.connect() as connection:
            pid = int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())
        await kill_backend(url, pid)
        async with sessions(engine)() as session:
            with pytest.raises(DBAPIError) as lost:
                async with session.begin():
                    await direct_sql.first(session, BY_ID, {"p_id": "x"})
        assert lost.value.connection_invalidated  # answered as 503 database_unavailable
        async with sessions(engine)() as session, session.begin():  # a fresh connection, no error
            assert await direct_sql.first(session, BY_ID, {"p_id": "x"}) is None
    finally:
        await engine.dispose()


async def test_an_in_list_goes_through_the_session(engine: AsyncEngine) -> None:
    """SQLAlchemy renders an IN list per execution: such a statement is not run on the driver."""
    async with sessions(engine)() as session, session.begin():
        await direct_sql.execute_many(
            session, INSERT, [{"id": f"l{n}", "amount_minor": n, "created_at": NOW} for n in range(3)]
        )
        rows = await direct_sql.fetch(session, IN_LIST, {"p_ids": ["l0", "l2"]})
        assert sorted(row.id for row in rows) == ["l0", "l2"]
