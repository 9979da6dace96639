"""Reading orders: one of the account's, or a page of them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from billing.adapters.order_store import find_order, orders_page
from billing.adapters.wallet_store import balance_of
from billing.domain.orders import Order, OrderStatus
from billing.domain.payments import OnlineLimits
from tollgate_shared.errors import NotFound
from tollgate_shared.pagination import PageParams


async def order_of(db: AsyncSession, account_id: str, order_id: str, *, lock: bool = False) -> Order:
    """The account's order (locked for this transaction with `lock`); another account's, or none, is a 404."""
    found = await find_order(db, account_id, order_id, lock=lock)
    if found is None:
        raise NotFound("No such order.")
    return found


async def list_orders(db: AsyncSession, account_id: str, paging: PageParams) -> tuple[list[Order], int]:
    """One page of the account's orders, newest first, and how many there are."""
    return await orders_page(db, account_id, paging)


async def online_charge_of(db: AsyncSession, account_id: str, order: Order, limits: OnlineLimits) -> int | None:
    """What paying an awaiting order online would charge now (0: the credits cover it; None: it cannot be
    paid online, its shortfall is above the maximum); None for a paid order."""
    if order.status is not OrderStatus.AWAITING_PAYMENT:
        return None
    balance = await balance_of(db, account_id)
    return limits.quote_for_order(total_minor=order.total_minor, balance_minor=balance)
