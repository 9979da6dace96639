"""Every service's migrations go up, down and up again, and match its tables exactly."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests.harness import DatabaseFactory
from tollgate.services import BACKEND_SERVICES, SERVICES
from tollgate_shared.db import create_engine
from tollgate_shared.migrations import alembic_config, upgrade

pytestmark = pytest.mark.integration


async def _differences(url: str, metadata: Any) -> list[Any]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(lambda sync: compare_metadata(MigrationContext.configure(sync), metadata))
    finally:
        await engine.dispose()


def _round_trip(migrations: Path, url: str) -> None:
    upgrade(migrations, url)
    command.downgrade(alembic_config(migrations, url), "base")
    upgrade(migrations, url)


@pytest.mark.parametrize("service", BACKEND_SERVICES)
async def test_migrations_round_trip_and_match_the_tables_on_postgresql(
    service: str, databases: DatabaseFactory
) -> None:
    entry = SERVICES[service]
    assert entry.migrations is not None
    url = await databases.fresh(service)  # already at head
    await asyncio.to_thread(_round_trip, entry.migrations, url)
    metadata = __import__(f"{service}.adapters.tables", fromlist=["metadata"]).metadata
    assert await _differences(url, metadata) == []


@pytest.mark.parametrize("service", BACKEND_SERVICES)
async def test_migrations_round_trip_and_match_the_tables_on_sqlite(service: str, tmp_path: Path) -> None:
    entry = SERVICES[service]
    assert entry.migrations is not None
    url = f"sqlite+aiosqlite:///{tmp_path / service}.db"
    await asyncio.to_thread(_round_trip, entry.migrations, url)
    metadata = __import__(f"{service}.adapters.tables", fromlist=["metadata"]).metadata
    assert await _differences(url, metadata) == []
