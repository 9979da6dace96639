"""Reading offline payments: one request, the account's, finance's list, and the pending gauge."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from billing.adapters.offline_payment_store import account_page, finance_page, find_offline_payment, pending_summary
from billing.domain.offline_payments import OfflinePayment, OfflinePaymentStatus
from tollgate_shared.errors import NotFound
from tollgate_shared.metrics.catalogue import OFFLINE_PAYMENTS_OLDEST_PENDING, OFFLINE_PAYMENTS_PENDING
from tollgate_shared.pagination import PageParams


async def offline_payment_of(
    db: AsyncSession, payment_id: str, *, account_id: str | None = None, lock: bool = False
) -> OfflinePayment:
    """The request (the account's, with `account_id`; locked with `lock`); none is a 404."""
    found = await find_offline_payment(db, payment_id, account_id=account_id, lock=lock)
    if found is None:
        raise NotFound("No such offline payment.")
    return found


async def list_own(db: AsyncSession, account_id: str, paging: PageParams) -> tuple[list[OfflinePayment], int]:
    """One page of the account's requests, newest first, and how many there are."""
    return await account_page(db, account_id, paging)


async def list_for_finance(
    db: AsyncSession, status: OfflinePaymentStatus | None, paging: PageParams
) -> tuple[list[OfflinePayment], int]:
    """One page of every account's requests (of `status`), newest first, with the account's name."""
    return await finance_page(db, status, paging)


async def read_pending_gauge(db: AsyncSession) -> None:
    """`tollgate_offline_payments_pending` and `…_oldest_pending_seconds`: requests awaiting finance and how
    long the oldest has waited."""
    count, oldest = await pending_summary(db)
    OFFLINE_PAYMENTS_PENDING.labels("billing").set(count)
    waited = 0.0 if oldest is None else max(0.0, (datetime.now(UTC) - oldest).total_seconds())
    OFFLINE_PAYMENTS_OLDEST_PENDING.labels("billing").set(waited)
