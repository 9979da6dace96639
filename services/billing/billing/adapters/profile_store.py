"""Billing profiles' statements."""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from billing.adapters.tables import billing_profile
from billing.domain.profiles import Profile
from tollgate_shared import direct_sql


def profile_from(row: Any) -> Profile:
    return Profile(
        account_id=row.account_id,
        account_name=row.account_name,
        legal_name=row.legal_name,
        address=row.address,
        state=row.state,
        state_code=row.state_code,
        gstin=row.gstin,
    )


# Built once, as every order reads it: building costs more than running (docs/decisions.md, Billing).
_PROFILE = select(billing_profile).where(billing_profile.c.account_id == bindparam("p_account"))


async def read_profile(db: AsyncSession, account_id: str) -> Profile | None:
    """The account's profile; a plain read, so an order's first statement sends no BEGIN (direct_sql.read)."""
    rows = await direct_sql.read(db, _PROFILE, {"p_account": account_id})
    return profile_from(rows[0]) if rows else None


# The profiles this process's orders read lately, by account, least recently used first. An order is priced
# for the one remembered and its statement checks it is still the one on record (paid_order_store): a stale
# entry costs a retry with the profile read again, never an invoice with old details. A profile changes
# seldom, and reading it was one of an order's two round trips.
_REMEMBERED: OrderedDict[str, Profile] = OrderedDict()
_REMEMBERED_LIMIT = 10_000


def remembered_profile(account_id: str) -> Profile | None:
    profile = _REMEMBERED.get(account_id)
    if profile is not None:
        _REMEMBERED.move_to_end(account_id)
    return profile


def remember_profile(profile: Profile) -> None:
    _REMEMBERED[profile.account_id] = profile
    _REMEMBERED.move_to_end(profile.account_id)
    if len(_REMEMBERED) > _REMEMBERED_LIMIT:
        _REMEMBERED.popitem(last=False)


async def upsert_profile(db: AsyncSession, account_id: str, values: dict[str, object]) -> None:
    """Insert the account's profile with `values`, or set them on the one there."""
    insert = postgresql.insert if db.bind.dialect.name == "postgresql" else sqlite.insert
    values = {**values, "updated_at": datetime.now(UTC)}
    await db.execute(
        insert(billing_profile)
        .values(account_id=account_id, **values)
        .on_conflict_do_update(index_elements=["account_id"], set_=values)
    )
