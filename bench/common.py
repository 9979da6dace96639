"""Helpers every benchmark shares: throwaway PostgreSQL databases on the admin URL."""

from __future__ import annotations

import asyncpg
from sqlalchemy.engine import make_url


def dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def database_url(admin_url: str, name: str) -> str:
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


async def admin_execute(admin_url: str, sql: str) -> None:
    connection = await asyncpg.connect(dsn(admin_url), timeout=10)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def server_version(admin_url: str) -> str:
    connection = await asyncpg.connect(dsn(admin_url), timeout=10)
    try:
        return str(await connection.fetchval("SHOW server_version"))
    finally:
        await connection.close()
