"""Is the database away for now? One answer for requests, consumers and `/readyz`.

A database that is down, starting, shutting down, out of connection slots, or
that dropped a session mid-statement is passing trouble, not a bug: a request
answers 503 `database_unavailable` with `Retry-After` (`errors.py`), and a
consumer stops taking messages until it answers again instead of spending the
message's retries (`inbox.py`, `bus/outages.py`; DESIGN §10).
`is_database_unavailable` tells that kind of failure from every other one;
`database_answers` asks the database itself.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Iterator

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine

# SQLSTATEs of a server that cannot serve now but will: admin_shutdown (a shutdown or
# pg_terminate_backend ended the session), crash_shutdown, cannot_connect_now (starting
# up, shutting down, recovering), too_many_connections. Class 08 (connection
# exceptions) too, but for protocol_violation, which is a bug. Not 57014
# query_canceled: a statement timeout is the statement's failure.
_UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
_CONNECTION_CLASS, _PROTOCOL_VIOLATION = "08", "08P01"
# Where a raw OSError or TimeoutError is the database's: asyncpg raises a refused or
# timed-out connect unwrapped (SQLAlchemy wraps only DB-API errors).
_DATABASE_CODE = ("asyncpg.", "sqlalchemy.")
PROBE_TIMEOUT_SECONDS = 2.0


def is_database_unavailable(error: BaseException) -> bool:
    """True when `error` says the database is not there for now, not that a statement is wrong."""
    return any(_says_database_away(cause) for cause in _causes(error))


def _says_database_away(cause: BaseException) -> bool:
    if isinstance(cause, DBAPIError) and cause.connection_invalidated:
        return True  # the session died under the statement; the pool replaces it
    if isinstance(cause, PoolTimeout):
        return True  # every pooled connection stayed busy for the pool's timeout
    sqlstate = getattr(cause, "sqlstate", None)
    if isinstance(sqlstate, str) and _is_unavailable_sqlstate(sqlstate):
        return True
    # Refused, unreachable, reset, or a connect that timed out.
    return isinstance(cause, OSError) and _raised_in_database_code(cause)


def _is_unavailable_sqlstate(sqlstate: str) -> bool:
    return sqlstate in _UNAVAILABLE_SQLSTATES or (
        sqlstate.startswith(_CONNECTION_CLASS) and sqlstate != _PROTOCOL_VIOLATION
    )


def _causes(error: BaseException) -> Iterator[BaseException]:
    """`error`, then what it wraps: SQLAlchemy's `orig`, and each explicit `raise … from`."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        wrapped = current.orig if isinstance(current, DBAPIError) else None
        current = wrapped if isinstance(wrapped, BaseException) else current.__cause__


def _raised_in_database_code(error: BaseException) -> bool:
    # A refused connection to some other service (or a file error) is not the
    # database's; a consumer would pause for it forever.
    return any(
        str(frame.f_globals.get("__name__", "")).startswith(_DATABASE_CODE)
        for frame, _ in traceback.walk_tb(error.__traceback__)
    )


async def database_answers(engine: AsyncEngine) -> bool:
    """Whether `engine`'s database answers `SELECT 1` within `PROBE_TIMEOUT_SECONDS`."""
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_SECONDS), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:
        return False
    return True
