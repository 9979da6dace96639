"""Database: naming convention, async engine and session factory.

Engines are built by the service's app factory, never at import. SQLite (the
embedded default) runs in WAL mode with a busy timeout and a single connection,
so concurrent requests queue for the one writer instead of failing.

PostgreSQL connections are pinged before use only when they sat idle in the
pool (`ping_when_idle`), not on every checkout as `pool_pre_ping` does.

Every timestamp column is a `UtcDateTime`: it reads back as an aware UTC
datetime from SQLite as from PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import sqlalchemy.ext.asyncio
from sqlalchemy import DateTime, MetaData, Row, Table, TextClause, TypeDecorator, bindparam, event, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.pool import AsyncAdaptedQueuePool
from sqlalchemy.sql.selectable import TextualSelect

from tollgate_shared import direct_sql

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_BUSY_TIMEOUT_MS = 30_000
# PostgreSQL connections a process keeps (as many as it could hold before, with overflow).
POOL_SIZE = 20
# A pooled connection unused for longer than this is pinged before it is handed out.
PING_AFTER_IDLE_SECONDS = 5.0


def new_metadata() -> MetaData:
    """A service's MetaData, with the naming convention every migration relies on."""
    return MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """A `timestamp with time zone` column whose values are aware UTC datetimes on every database.

    PostgreSQL stores the instant and asyncpg answers it in UTC. SQLite stores
    text without an offset and SQLAlchemy read it back naive, which broke every
    comparison with the aware time of now and every answer's `date-time`. The
    DDL stays `DateTime(timezone=True)`, so migrations do not change. A naive
    value bound is taken as UTC, as asyncpg takes it.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        # No processing of its own on PostgreSQL: `direct_sql` keeps running such
        # statements on asyncpg, which it does only for types it need not convert.
        if dialect.name == "sqlite":
            return _SQLiteUtcDateTime()  # type: ignore[no-untyped-call]  # SQLAlchemy leaves it untyped
        return dialect.type_descriptor(DateTime(timezone=True))


class _SQLiteUtcDateTime(sqlite.DATETIME):
    """SQLite's text form of a time (always UTC, as before), read back with its UTC offset."""

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any]:
        store = super().bind_processor(dialect)
        assert store is not None

        def process(value: Any) -> Any:
            if isinstance(value, datetime) and value.tzinfo is not None:
                value = value.astimezone(UTC)
            return store(value)

        return process

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any]:
        parse = super().result_processor(dialect, coltype)
        assert parse is not None

        def process(value: Any) -> datetime | None:
            moment: datetime | None = parse(value)
            return None if moment is None else moment.replace(tzinfo=UTC)

        return process


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def ping_when_idle(engine: AsyncEngine, *, idle_seconds: float = PING_AFTER_IDLE_SECONDS) -> None:
    """Check a pooled connection before use only if it sat idle for `idle_seconds`.

    `pool_pre_ping` pings on every checkout; with asyncpg that is three round
    trips (`BEGIN`, `;`, `ROLLBACK`) per transaction (docs/decisions.md, Common
    library). A connection in steady use has just proven itself; the ones that die unseen (a PostgreSQL restart, a
    firewall or pooler dropping idle links) are the idle ones. A failed ping
    raises `DisconnectionError`, on which the pool discards the connection and
    hands out a fresh one, as `pool_pre_ping` does.
    """
    dialect = engine.dialect

    def on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    def on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return  # new, or used moments ago
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError(
                f"pooled connection idle for {time.monotonic() - idle_since:.0f}s is dead"
            ) from exc

    event.listen(engine.sync_engine, "checkin", on_checkin)
    event.listen(engine.sync_engine, "checkout", on_checkout)


def _create_async_engine(url: str, **kwargs: Any) -> AsyncEngine:
    # Looked up at call time: OpenTelemetry's instrumentation wraps the module's function.
    return sqlalchemy.ext.asyncio.create_async_engine(url, **kwargs)


def create_engine(
    url: str, *, pool_size: int = POOL_SIZE, ping_after_idle_seconds: float = PING_AFTER_IDLE_SECONDS
) -> AsyncEngine:
    """An async engine for `url` (asyncpg for PostgreSQL, aiosqlite for SQLite).

    PostgreSQL: at most `pool_size` connections, each kept open once made
    (`max_overflow=0`). With overflow connections above a smaller pool, each was
    closed as it came back whenever the pool was full, and a load hovering
    around the pool's size kept opening PostgreSQL sessions (a forked backend and
    asyncpg's set-up queries each; docs/decisions.md, Common library).
    Requests beyond the pool wait for a connection in the process.
    """
    if is_sqlite(url):
        # One connection: SQLite has one writer; waiting for the pool is the queue.
        engine = _create_async_engine(
            url,
            poolclass=AsyncAdaptedQueuePool,
            pool_size=1,
            max_overflow=0,
            pool_timeout=60,
        )
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        return engine
    engine = _create_async_engine(url, pool_size=pool_size, max_overflow=0)
    ping_when_idle(engine, idle_seconds=ping_after_idle_seconds)
    return engine


async def insert_unless_exists(session: AsyncSession, table: Table, values: Mapping[str, Any]) -> Row[Any] | None:
    """Insert a row unless it conflicts with one already there: the new row, or None.

    `INSERT … ON CONFLICT DO NOTHING RETURNING …`, which reads the same on
    PostgreSQL and SQLite (3.35+). A conflicting row another transaction has not
    committed yet is waited for, so None means it exists (or existed) for good.
    """
    return await direct_sql.first(session, _insert_unless_exists(table, tuple(values)), values)


@lru_cache(maxsize=64)
def _insert_unless_exists(table: Table, names: tuple[str, ...]) -> TextualSelect:
    # A text statement built once per table and set of columns: SQLAlchemy 2.0
    # cannot cache the dialects' insert().on_conflict_do_nothing() and compiled
    # it again for every call (docs/decisions.md, Common library). Binds and result
    # columns keep the table's types, so dates round-trip on SQLite as with Core.
    columns = [table.c[name] for name in names]
    quoted = ", ".join(f'"{name}"' for name in names)
    returned = ", ".join(f'"{column.name}"' for column in table.columns)
    statement: TextClause = text(
        f'INSERT INTO "{table.name}" ({quoted}) VALUES ({", ".join(":" + name for name in names)}) '  # noqa: S608
        f"ON CONFLICT DO NOTHING RETURNING {returned}"
    ).bindparams(*(bindparam(column.name, type_=column.type) for column in columns))
    return statement.columns(*table.columns)
