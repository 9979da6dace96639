"""`tollgate migrate [SERVICE]`: apply each service's Alembic migrations."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.engine import make_url

from tollgate.services import BACKEND_SERVICES, SERVICES


def migrate(services: list[str] | None = None) -> None:
    """Every named service's settings first (a mistake is told before any database is touched), then
    each database created if missing and migrated."""
    names = [name for name in services or BACKEND_SERVICES if SERVICES[name].migrations is not None]
    urls = {name: SERVICES[name].settings().effective_database_url for name in names}
    # Imported now: Alembic and SQLAlchemy's ORM are most of a second a mistake need not wait for.
    from tollgate_shared.migrations import upgrade

    for name, url in urls.items():
        migrations = SERVICES[name].migrations
        assert migrations is not None
        asyncio.run(ensure_database(url))
        upgrade(migrations, url)
        print(f"{name}: migrated ({make_url(url).render_as_string(hide_password=True)})")


async def ensure_database(url: str) -> None:
    """Create a PostgreSQL database that does not exist yet (one per service)."""
    from sqlalchemy.ext.asyncio import create_async_engine

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
