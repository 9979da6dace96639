"""Offline payments' statements."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from billing.adapters.tables import LIVE, billing_profile, offline_payment
from billing.domain.offline_payments import OfflinePayment, OfflinePaymentStatus, TransferMode
from tollgate_shared.pagination import PageParams, fetch_page


def offline_payment_from(row: Any) -> OfflinePayment:
    return OfflinePayment(
        id=row.id,
        account_id=row.account_id,
        amount_minor=int(row.amount_minor),
        currency=row.currency,
        mode=TransferMode(row.mode),
        reference=row.reference,
        paid_on=row.paid_on,
        bank=row.bank,
        note=row.note,
        submitted_by=row.submitted_by,
        status=OfflinePaymentStatus(row.status),
        approved_amount_minor=None if row.approved_amount_minor is None else int(row.approved_amount_minor),
        reason=row.reason,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        created_at=row.created_at,
        account_name=getattr(row, "account_name", None),
    )


async def insert_unless_live(db: AsyncSession, values: dict[str, object], *, key: str) -> OfflinePayment | None:
    """Insert the request; or, when the unique index of live references refuses it, the live request of the
    same transfer that committed meanwhile (the insert waited for it)."""
    try:
        async with db.begin_nested():
            await db.execute(offline_payment.insert().values(**values))
    except IntegrityError:
        earlier = await live_request(db, str(values["account_id"]), key)
        if earlier is None:
            raise
        return earlier
    return None


async def live_request(db: AsyncSession, account_id: str, key: str) -> OfflinePayment | None:
    """The account's pending or approved request of the transfer with this reference key, if any."""
    query = select(offline_payment).where(
        offline_payment.c.account_id == account_id, offline_payment.c.reference_key == key, LIVE
    )
    row = (await db.execute(query)).first()
    return None if row is None else offline_payment_from(row)


async def find_offline_payment(
    db: AsyncSession, payment_id: str, *, account_id: str | None = None, lock: bool = False
) -> OfflinePayment | None:
    query = select(offline_payment).where(offline_payment.c.id == payment_id)
    if account_id is not None:
        query = query.where(offline_payment.c.account_id == account_id)
    row = (await db.execute(query.with_for_update() if lock else query)).first()
    return None if row is None else offline_payment_from(row)


async def mark_decided(
    db: AsyncSession,
    payment_id: str,
    *,
    status: OfflinePaymentStatus,
    approved_amount_minor: int | None,
    reason: str | None,
    decided_by: str,
    at: datetime,
) -> None:
    values: dict[str, object] = {"status": str(status), "reason": reason, "decided_by": decided_by, "decided_at": at}
    if approved_amount_minor is not None:
        values["approved_amount_minor"] = approved_amount_minor
    await db.execute(update(offline_payment).where(offline_payment.c.id == payment_id).values(**values))


_NEWEST_FIRST = [offline_payment.c.created_at.desc(), offline_payment.c.id]


async def account_page(db: AsyncSession, account_id: str, paging: PageParams) -> tuple[list[OfflinePayment], int]:
    """One page of the account's requests, newest first, and how many there are."""
    query = select(offline_payment).where(offline_payment.c.account_id == account_id)
    rows, total = await fetch_page(db, query, order_by=_NEWEST_FIRST, paging=paging)
    return [offline_payment_from(row) for row in rows], total


async def finance_page(
    db: AsyncSession, status: OfflinePaymentStatus | None, paging: PageParams
) -> tuple[list[OfflinePayment], int]:
    """One page of every account's requests (of `status`), newest first, named as finance knows the account."""
    name = func.coalesce(billing_profile.c.legal_name, billing_profile.c.account_name).label("account_name")
    query = select(offline_payment, name).outerjoin(
        billing_profile, billing_profile.c.account_id == offline_payment.c.account_id
    )
    if status is not None:
        query = query.where(offline_payment.c.status == str(status))
    rows, total = await fetch_page(db, query, order_by=_NEWEST_FIRST, paging=paging)
    return [offline_payment_from(row) for row in rows], total


async def pending_summary(db: AsyncSession) -> tuple[int, datetime | None]:
    """How many requests await finance, and when the oldest was made (one statement on the status index)."""
    query = select(func.count(), func.min(offline_payment.c.created_at)).where(
        offline_payment.c.status == str(OfflinePaymentStatus.PENDING_APPROVAL)
    )
    count, oldest = (await db.execute(query)).one()
    return int(count or 0), oldest
