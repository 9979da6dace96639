"""Reading online payments: one of the account's, or a page of them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from billing.adapters.payment_store import account_payment, payments_page
from billing.domain.payments import Payment
from tollgate_shared.errors import NotFound
from tollgate_shared.pagination import PageParams


async def payment_of(db: AsyncSession, account_id: str, payment_id: str) -> Payment:
    """The account's payment; another account's (or none) is a 404."""
    found = await account_payment(db, account_id, payment_id)
    if found is None:
        raise NotFound("No such payment.")
    return found


async def list_payments(db: AsyncSession, account_id: str, paging: PageParams) -> tuple[list[Payment], int]:
    """One page of the account's online payments, newest first, and how many there are."""
    return await payments_page(db, account_id, paging)
