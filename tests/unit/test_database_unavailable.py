"""One answer to "is the database away for now?", for requests (503) and consumers (pause).

`is_database_unavailable` is fed what asyncpg and SQLAlchemy really raise: a
database that is down, starting, shutting down, full or gone mid-statement is;
a bug in a statement, a cancelled query, or a failure of anything else is not.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg
import pytest
from asyncpg import exceptions as asyncpg_errors
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from tests.support.infrastructure import free_port
from tollgate_shared.db import create_engine
from tollgate_shared.db_availability import is_database_unavailable

AWAY = [
    asyncpg_errors.CannotConnectNowError("the database system is starting up"),
    asyncpg_errors.CannotConnectNowError("the database system is shutting down"),
    asyncpg_errors.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg_errors.CrashShutdownError("terminating connection because of crash of another server process"),
    asyncpg_errors.TooManyConnectionsError("sorry, too many clients already"),
    asyncpg_errors.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg_errors.ConnectionFailureError("connection failure"),
    DBAPIError("SELECT 1", {}, ConnectionResetError("gone"), connection_invalidated=True),
    PoolTimeout("QueuePool limit of size 20 overflow 0 reached, connection timed out, timeout 30.00"),
]
NOT_AWAY = [
    asyncpg_errors.QueryCanceledError(
        "canceling statement due to statement timeout"
    ),  # 57014: the query, not the server
    asyncpg_errors.ProtocolViolationError("invalid message format"),  # 08P01: a bug
    asyncpg_errors.UniqueViolationError("duplicate key value violates unique constraint"),
    IntegrityError("INSERT", {}, Exception("duplicate key")),
    RuntimeError("a handler's own failure"),
    ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 6379)"),  # something else refused, not asyncpg
    TimeoutError(),
]


@pytest.mark.parametrize("error", AWAY, ids=lambda e: type(e).__name__)
def test_a_server_that_is_not_there_for_now_is_unavailable(error: Exception) -> None:
    assert is_database_unavailable(error)
    # also when SQLAlchemy wraps the driver's error (a statement's failure, not a checkout's)
    assert is_database_unavailable(DBAPIError("SELECT 1", {}, error))


@pytest.mark.parametrize("error", NOT_AWAY, ids=lambda e: type(e).__name__)
def test_any_other_failure_is_not(error: Exception) -> None:
    assert not is_database_unavailable(error)


async def test_a_refused_connection_is_unavailable() -> None:
    engine = create_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/postgres")
    try:
        with pytest.raises(OSError) as refused:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()
    assert is_database_unavailable(refused.value)


@contextlib.asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """A port that accepts connections and never answers (a database host that hangs)."""

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


async def test_a_connection_attempt_that_times_out_is_unavailable_but_a_timeout_of_our_own_is_not() -> None:
    async with silent_server() as port:
        with pytest.raises(TimeoutError) as timed_out:
            await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", timeout=0.2)
    assert is_database_unavailable(timed_out.value)

    with pytest.raises(TimeoutError) as ours:
        async with asyncio.timeout(0.01):
            await asyncio.sleep(1)
    assert not is_database_unavailable(ours.value)
