"""Billing profiles: the buyer's details as invoices name them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from billing.adapters.tables import billing_profile
from billing.settings import BillingSettings
from tollgate_shared import direct_sql
from tollgate_shared.events.models import BuyerSnapshot


async def upsert_profile(db: AsyncSession, account_id: str, **values: Any) -> None:
    insert = postgresql.insert if db.bind.dialect.name == "postgresql" else sqlite.insert
    values["updated_at"] = datetime.now(UTC)
    await db.execute(
        insert(billing_profile)
        .values(account_id=account_id, **values)
        .on_conflict_do_update(index_elements=["account_id"], set_=values)
    )


# Built once (every order reads the profile): building a statement costs more than running it.
_PROFILE = select(billing_profile).where(billing_profile.c.account_id == bindparam("p_account"))


async def profile_row(db: AsyncSession, account_id: str) -> Any | None:
    return await direct_sql.first(db, _PROFILE, {"p_account": account_id})


async def buyer_of(db: AsyncSession, account_id: str, settings: BillingSettings) -> tuple[BuyerSnapshot, str]:
    """The buyer as invoices name them, and the place of supply.

    Without a profile: the account's name, and a supply within the seller's
    state (the place of supply when the recipient's address is not on record).
    """
    row = await profile_row(db, account_id)
    if row is None or row.legal_name is None:
        name = (row.account_name if row is not None else None) or f"Account {account_id}"
        return BuyerSnapshot(
            legal_name=name, address="", state=settings.seller_state, gstin=None
        ), settings.seller_state
    return BuyerSnapshot(legal_name=row.legal_name, address=row.address, state=row.state, gstin=row.gstin), row.state
