"""`tollgate migrate [SERVICE]`: apply each service's Alembic migrations."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from tollgate.services import BACKEND_SERVICES, SERVICES
from tollgate_shared.migrations import upgrade


def migrate(services: list[str] | None = None) -> None:
    for name in services or list(BACKEND_SERVICES):
        entry = SERVICES[name]
        if entry.migrations is None:
            continue
        url = entry.settings().effective_database_url
        asyncio.run(ensure_database(url))
        upgrade(entry.migrations, url)
        print(f"{name}: migrated ({make_url(url).render_as_string(hide_password=True)})")


async def ensure_database(url: str) -> None:
    """Create a PostgreSQL database that does not exist yet (one per service)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql") or not parsed.database:
        return
    engine = create_async_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            exists = await connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}
            )
            if not exists:
                await connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    finally:
        await engine.dispose()
