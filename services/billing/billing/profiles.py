"""Billing profiles: the buyer's details as invoices name them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from billing.adapters.tables import billing_profile


async def upsert_profile(db: AsyncSession, account_id: str, **values: Any) -> None:
    insert = postgresql.insert if db.bind.dialect.name == "postgresql" else sqlite.insert
    values["updated_at"] = datetime.now(UTC)
    await db.execute(
        insert(billing_profile)
        .values(account_id=account_id, **values)
        .on_conflict_do_update(index_elements=["account_id"], set_=values)
    )


async def profile_row(db: AsyncSession, account_id: str) -> Any | None:
    return (await db.execute(select(billing_profile).where(billing_profile.c.account_id == account_id))).first()
