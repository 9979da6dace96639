"""Online payments' statements."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from billing.adapters.tables import payment
from billing.domain.payments import Payment, PaymentStatus
from tollgate_shared.pagination import PageParams, fetch_page


def payment_from(row: Any) -> Payment:
    return Payment(
        id=row.id,
        account_id=row.account_id,
        amount_minor=int(row.amount_minor),
        currency=row.currency,
        provider=row.provider,
        provider_session=row.provider_session,
        provider_reference=row.provider_reference,
        redirect_url=row.redirect_url,
        status=PaymentStatus(row.status),
        failure_reason=row.failure_reason,
        order_id=row.order_id,
        created_by=row.created_by,
        created_at=row.created_at,
        completed_at=row.completed_at,
    )


async def insert_payment(db: AsyncSession, values: dict[str, object]) -> None:
    await db.execute(payment.insert().values(**values))


async def payment_by_id(db: AsyncSession, payment_id: str, *, lock: bool = False) -> Payment:
    """The payment (which must exist), locked for this transaction with `lock`."""
    query = select(payment).where(payment.c.id == payment_id)
    return payment_from((await db.execute(query.with_for_update() if lock else query)).one())


async def account_payment(db: AsyncSession, account_id: str, payment_id: str) -> Payment | None:
    query = select(payment).where(payment.c.id == payment_id, payment.c.account_id == account_id)
    row = (await db.execute(query)).first()
    return None if row is None else payment_from(row)


async def payment_of_session(db: AsyncSession, provider: str, session_id: str) -> str | None:
    """The id of our payment for the provider's checkout session, if it is ours."""
    query = select(payment.c.id).where(payment.c.provider == provider, payment.c.provider_session == session_id)
    found: str | None = await db.scalar(query)
    return found


async def mark_succeeded(db: AsyncSession, payment_id: str, *, provider_reference: str | None, at: datetime) -> None:
    values = {"provider_reference": provider_reference, "failure_reason": None, "completed_at": at}
    await db.execute(
        update(payment).where(payment.c.id == payment_id).values(status=str(PaymentStatus.SUCCEEDED), **values)
    )


async def mark_closed(
    db: AsyncSession, payment_id: str, *, status: PaymentStatus, reason: str | None, at: datetime
) -> None:
    """A pending payment failed or expired."""
    await db.execute(
        update(payment)
        .where(payment.c.id == payment_id)
        .values(status=str(status), failure_reason=reason, completed_at=at)
    )


async def payments_page(db: AsyncSession, account_id: str, paging: PageParams) -> tuple[list[Payment], int]:
    """One page of the account's online payments, newest first, and how many there are."""
    query = select(payment).where(payment.c.account_id == account_id)
    rows, total = await fetch_page(db, query, order_by=[payment.c.created_at.desc(), payment.c.id], paging=paging)
    return [payment_from(row) for row in rows], total
