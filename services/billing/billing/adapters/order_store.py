"""Orders' statements, behind named functions; built once (building a Core statement costs more CPU than
running it) and run through the asyncpg bypass on the order's hot path (docs/decisions.md, Billing)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from billing.adapters.tables import order
from billing.domain.orders import Order, OrderStatus, PaymentMethod
from tollgate_shared import direct_sql
from tollgate_shared.db import insert_unless_exists
from tollgate_shared.pagination import PageParams, fetch_page


def order_from(row: Any) -> Order:
    return Order(
        id=row.id,
        account_id=row.account_id,
        order_id=row.order_id,
        request_hash=row.request_hash,
        status=OrderStatus(row.status),
        currency=row.currency,
        lines_json=row.lines,
        subtotal_minor=int(row.subtotal_minor),
        cgst_minor=int(row.cgst_minor),
        sgst_minor=int(row.sgst_minor),
        igst_minor=int(row.igst_minor),
        total_minor=int(row.total_minor),
        buyer_json=row.buyer,
        place_of_supply=row.place_of_supply,
        created_at=row.created_at,
        paid_at=row.paid_at,
        payment_method=None if row.payment_method is None else PaymentMethod(row.payment_method),
    )


def order_from_values(values: Mapping[str, Any]) -> Order:
    """The order a row of these `values` (every column) reads as, before it is written."""
    return order_from(SimpleNamespace(**values))


_ORDER = select(order).where(order.c.account_id == bindparam("p_account"), order.c.order_id == bindparam("p_order"))
_ORDER_FOR_UPDATE = _ORDER.with_for_update()
_MARK_AWAITING = (
    update(order)
    .where(order.c.id == bindparam("p_id"))
    .values(status=str(OrderStatus.AWAITING_PAYMENT), paid_at=None, payment_method=None)
    .returning(*order.c)
)
_MARK_PAID = (
    update(order)
    .where(order.c.id == bindparam("p_id"))
    .values(status=str(OrderStatus.PAID), paid_at=bindparam("p_paid_at"), payment_method=bindparam("p_method"))
    .returning(*order.c)
)


async def insert_order(db: AsyncSession, values: dict[str, object]) -> Order | None:
    """Insert the order unless its (account, order id) is taken (`ON CONFLICT DO NOTHING`): it, or None."""
    row = await insert_unless_exists(db, order, values)
    return None if row is None else order_from(row)


async def find_order(db: AsyncSession, account_id: str, order_id: str, *, lock: bool = False) -> Order | None:
    """The account's order by its id, locked for this transaction with `lock`."""
    query = _ORDER_FOR_UPDATE if lock else _ORDER
    row = await direct_sql.first(db, query, {"p_account": account_id, "p_order": order_id})
    return None if row is None else order_from(row)


async def mark_awaiting(db: AsyncSession, order_row_id: str) -> Order:
    """The order inserted as paid did not get paid: it awaits payment."""
    return order_from((await db.execute(_MARK_AWAITING, {"p_id": order_row_id})).one())


async def mark_paid(db: AsyncSession, order_row_id: str, *, paid_at: datetime, method: PaymentMethod) -> Order:
    params = {"p_id": order_row_id, "p_paid_at": paid_at, "p_method": str(method)}
    return order_from((await db.execute(_MARK_PAID, params)).one())


async def orders_page(db: AsyncSession, account_id: str, paging: PageParams) -> tuple[list[Order], int]:
    """One page of the account's orders, newest first, and how many there are."""
    query = select(order).where(order.c.account_id == account_id)
    rows, total = await fetch_page(db, query, order_by=[order.c.created_at.desc(), order.c.id], paging=paging)
    return [order_from(row) for row in rows], total
