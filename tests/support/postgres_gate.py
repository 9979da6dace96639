"""A PostgreSQL that can be taken away, restarted or shut down under a service, in this process.

`PostgresGate` relays TCP to the real PostgreSQL (the shared server is never
stopped). `refuse()` makes it look down (connections refused); `starting_up()`
and `shutting_down()` make it answer each new connection as a starting or
stopping server does, with the FATAL ErrorResponse of SQLSTATE 57P03, which is
all asyncpg reads before it raises `CannotConnectNowError`; `restore()` brings
it back. `terminate_sessions` ends a database's sessions as a shutdown does
(FATAL 57P01 to each, through the gate to the service).
"""

from __future__ import annotations

import asyncio
import contextlib
import struct

import asyncpg
from sqlalchemy.engine import make_url

from tollgate.throwaway import TcpProxy

STARTING_UP = "the database system is starting up"
SHUTTING_DOWN = "the database system is shutting down"
_SSL_OR_GSS_REQUESTS = {80877103, 80877104}  # asked before the startup message; answered "N"


def error_response(sqlstate: str, message: str) -> bytes:
    """A FATAL ErrorResponse message of the PostgreSQL wire protocol (v3)."""
    fields = b"".join(
        code + value.encode() + b"\0"
        for code, value in ((b"S", "FATAL"), (b"V", "FATAL"), (b"C", sqlstate), (b"M", message))
    )
    body = fields + b"\0"
    return b"E" + struct.pack("!I", len(body) + 4) + body


class PostgresGate(TcpProxy):
    """The real PostgreSQL of `database_url`, behind a port this test controls."""

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        super().__init__(url.host or "127.0.0.1", url.port or 5432)
        self._refusal: tuple[str, str] | None = None

    def url_of(self, database_url: str) -> str:
        """`database_url` (a database of the same server) reached through the gate."""
        return make_url(database_url).set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)

    async def refuse(self) -> None:
        """PostgreSQL is down: every connection is refused."""
        await self.cut()

    async def starting_up(self) -> None:
        """PostgreSQL is starting (after being down): no session is open, new ones are refused with 57P03."""
        await self.cut()
        await self._answer_new_sessions("57P03", STARTING_UP)

    async def shutting_down(self) -> None:
        """PostgreSQL is stopping: new sessions are refused with 57P03; the open ones stay until
        `terminate_sessions` ends them, as the server does."""
        await self._answer_new_sessions("57P03", SHUTTING_DOWN)

    async def restore(self) -> None:
        self._refusal = None
        if self._server is None:
            await self.start(self.port)

    async def _answer_new_sessions(self, sqlstate: str, message: str) -> None:
        self._refusal = (sqlstate, message)
        if self._server is None:
            await self.start(self.port)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._refusal is None:
            await super()._handle(reader, writer)
            return
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while True:  # an SSL or GSS request first, then the startup message
                length, code = struct.unpack("!II", await reader.readexactly(8))
                await reader.readexactly(length - 8)
                if code not in _SSL_OR_GSS_REQUESTS:
                    break
                writer.write(b"N")
            writer.write(error_response(*self._refusal))
            await writer.drain()
        writer.close()


async def terminate_sessions(database_url: str, *, sparing: int | None = None) -> int:
    """End every session of `database_url`'s database but `sparing` (a pid), as a shutdown ends them."""
    url = make_url(database_url)
    connection = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        rows = await connection.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid() AND pid IS DISTINCT FROM $2",
            url.database,
            sparing,
        )
    finally:
        await connection.close()
    return len(rows)
