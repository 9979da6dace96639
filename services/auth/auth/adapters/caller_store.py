"""Who is calling, in one statement: the live session, its active user and the user's account.

Every authenticated request of auth asks this, so it is one round trip (the session joined to its user
and, left outer, to the account) rather than one query per table: three statements cost three cache-key
builds, three executions and three result decodings of CPU for the same answer (bench/README.md, auth).
"""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.account_store import ACCOUNT_PREFIX, account_of
from auth.adapters.tables import account, user
from auth.adapters.tables import session as session_table
from auth.adapters.user_store import user_of
from auth.domain.records import Account, User
from tollgate_shared import direct_sql

_ACCOUNT_COLUMNS = [column.label(ACCOUNT_PREFIX + column.name) for column in account.c]

_LIVE_CALLER = (
    select(user, *_ACCOUNT_COLUMNS)
    .select_from(session_table)
    .join(user, user.c.id == session_table.c.user_id)
    .outerjoin(account, account.c.id == user.c.account_id)
    .where(
        session_table.c.id == bindparam("session_id"),
        session_table.c.revoked_at.is_(None),
        user.c.id == bindparam("user_id"),
        user.c.active.is_(True),
    )
)


async def find_live_caller(db: AsyncSession, *, session_id: str, user_id: str) -> tuple[User, Account | None] | None:
    """The user of a session that is not revoked, if that user is `user_id` and active, with their account
    (None for staff); None when the session is revoked or unknown, or the user deactivated."""
    # A plain read, on asyncpg without a BEGIN and COMMIT of its own when it is the request's only statement
    # (a read of `/me`): one round trip, not three (tollgate_shared.direct_sql.read).
    rows = await direct_sql.read(db, _LIVE_CALLER, {"session_id": session_id, "user_id": user_id})
    if not rows:
        return None
    row = rows[0]
    return user_of(row), None if row.account_id is None else account_of(row, prefix=ACCOUNT_PREFIX)
