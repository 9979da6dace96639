"""The login's user lookup on a large user table: `lower(email) = $1` against `email = $1`.

Login finds the user with `WHERE lower("user".email) = $1`; the table's only
index on email is the UNIQUE constraint on the column itself, which PostgreSQL
cannot use for `lower(email)`. The probe fills the bench database with users
(one INSERT … SELECT) and asks PostgreSQL for both plans and their times.
"""

from __future__ import annotations

import json
import statistics
from typing import Any

import asyncpg

from bench.common import dsn

COLUMNS = (
    '"user".id, "user".account_id, "user".email, "user".password_hash, "user".role, "user".active, '
    '"user".totp_secret, "user".totp_last_step, "user".totp_enrolled_at, "user".created_at, "user".deactivated_at'
)
# The login lookup as SQLAlchemy rendered it when auth compared `lower(email)` (the comparison this bench measured).
SERVICE_QUERY = f'SELECT {COLUMNS} FROM "user" WHERE lower("user".email) = $1::VARCHAR'
INDEXED_QUERY = f'SELECT {COLUMNS} FROM "user" WHERE "user".email = $1::VARCHAR'


async def add_filler_users(url: str, *, account_id: str, count: int, password_hash: str) -> None:
    """`count` more users of `account_id` (lowercase emails, as the service stores them)."""
    connection = await asyncpg.connect(dsn(url), timeout=10)
    try:
        await connection.execute(
            """
            INSERT INTO "user" (id, account_id, email, password_hash, role, active, created_at)
            SELECT gen_random_uuid()::text, $1, 'filler-' || g || '-' || md5(g::text) || '@example.com',
                   $2, 'user', true, now()
            FROM generate_series(1, $3::int) AS g
            """,
            account_id,
            password_hash,
            count,
            timeout=300,
        )
        await connection.execute('ANALYZE "user"', timeout=120)
    finally:
        await connection.close()


async def any_password_hash(url: str) -> str:
    connection = await asyncpg.connect(dsn(url), timeout=10)
    try:
        return str(await connection.fetchval('SELECT password_hash FROM "user" LIMIT 1'))
    finally:
        await connection.close()


async def _explain(connection: asyncpg.Connection, query: str, email: str, repeats: int) -> dict[str, Any]:
    times: list[float] = []
    node = ""
    for _ in range(repeats):
        raw = await connection.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {query}", email)
        plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]
        times.append(float(plan["Execution Time"]))
        node = str(plan["Plan"]["Node Type"])
    return {"plan": node, "execution_ms_median": round(statistics.median(times), 3)}


async def probe(url: str, *, email: str, repeats: int = 15) -> dict[str, Any]:
    """Both lookups of one existing user, with the table as it is now."""
    connection = await asyncpg.connect(dsn(url), timeout=10)
    try:
        users = int(await connection.fetchval('SELECT count(*) FROM "user"'))
        return {
            "users_in_table": users,
            "service_lower_email": await _explain(connection, SERVICE_QUERY, email, repeats),
            "email_equals": await _explain(connection, INDEXED_QUERY, email, repeats),
        }
    finally:
        await connection.close()
