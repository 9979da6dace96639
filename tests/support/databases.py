"""What the database tests share: killing a connection's PostgreSQL backend."""

from __future__ import annotations

from sqlalchemy import text

from tollgate_shared.db import create_engine


async def kill_backend(url: str, pid: int) -> None:
    """End the server side of a pooled connection, from a connection of another engine."""
    other = create_engine(url)
    try:
        async with other.begin() as connection:
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await other.dispose()
