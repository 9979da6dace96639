"""Billing profiles: the buyer's details as invoices name them (read, set by administrators, and as a buyer)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from billing.adapters.profile_store import read_profile, remember_profile, remembered_profile, upsert_profile
from billing.domain.profiles import Profile, buyer, check_profile, require_for_order
from tollgate_shared.events.models import BuyerSnapshot


async def profile_of(db: AsyncSession, account_id: str) -> Profile | None:
    """The account's profile; None until billing has heard of the account."""
    return await read_profile(db, account_id)


async def set_profile(
    db: AsyncSession, account_id: str, *, legal_name: str, address: str, state: str, gstin: str | None
) -> Profile | None:
    """Set the profile (`InvalidField` on `state` or `gstin` when they do not check); the profile after."""
    details = check_profile(legal_name=legal_name, address=address, state=state, gstin=gstin)
    values: dict[str, object] = {
        "legal_name": details.legal_name,
        "address": details.address,
        "state": details.state,
        "state_code": details.state_code,
        "gstin": details.gstin,
    }
    await upsert_profile(db, account_id, values)
    return await read_profile(db, account_id)


async def name_account(db: AsyncSession, account_id: str, account_name: str) -> None:
    """Record the account's name: invoices name the account until an administrator sets a billing profile."""
    await upsert_profile(db, account_id, {"account_name": account_name})


async def buyer_of(db: AsyncSession, account_id: str, *, seller_state: str) -> tuple[BuyerSnapshot, str]:
    """The buyer as invoices name them, and the place of supply (`billing.domain.profiles.buyer`)."""
    return buyer(await read_profile(db, account_id), account_id, seller_state=seller_state)


async def order_buyer_of(db: AsyncSession, account_id: str, *, seller_state: str) -> tuple[BuyerSnapshot, str]:
    """The buyer of an order and the place of supply; `BillingProfileRequired` (422) while the profile lacks
    the legal name, address or state. The profile is remembered for the account's next orders."""
    profile = await read_profile(db, account_id)
    require_for_order(profile)
    assert profile is not None  # required
    remember_profile(profile)
    return buyer(profile, account_id, seller_state=seller_state)


def remembered_buyer(account_id: str, *, seller_state: str) -> tuple[BuyerSnapshot, str] | None:
    """The buyer and place of supply of the account's last order in this process, if it is remembered: what
    was on record then, to be checked against the record by whatever writes with it."""
    profile = remembered_profile(account_id)
    return None if profile is None else buyer(profile, account_id, seller_state=seller_state)
