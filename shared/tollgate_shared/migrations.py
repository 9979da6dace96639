"""Alembic, per service: each service's `migrations/env.py` calls `run_env`."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from tollgate_shared.db import create_engine


def alembic_config(migrations_dir: Path, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(migrations_dir: Path, database_url: str, revision: str = "head") -> None:
    """Apply the migrations in `migrations_dir` to `database_url` (blocking)."""
    if database_url.startswith("sqlite"):
        Path(database_url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(migrations_dir, database_url), revision)


def _run(connection: Connection, metadata: MetaData) -> None:
    context.configure(
        connection=connection, target_metadata=metadata, render_as_batch=connection.dialect.name == "sqlite"
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str, metadata: MetaData) -> None:
    engine = create_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(_run, metadata)
        await connection.commit()
    await engine.dispose()


def run_env(metadata: MetaData) -> None:
    """The body of every service's `env.py` (online mode, async engines)."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url is not None
    asyncio.run(_run_async(url, metadata))
