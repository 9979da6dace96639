"""The wallet: balance, low-balance threshold, ledger."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import select

from billing.adapters.tables import ledger_entry, wallet
from billing.api.deps import AdminDep
from billing.domain.ledger import is_below
from billing.ledger import set_threshold
from tollgate_shared.auth_upstream import AccountUserDep
from tollgate_shared.fields import RequestBody, Timestamp
from tollgate_shared.money import Money, SignedMoney, from_minor, to_minor
from tollgate_shared.pagination import Page, PageDep, fetch_page
from tollgate_shared.service import SessionDep

router = APIRouter(prefix="/api/billing", tags=["wallet"])


class Balance(BaseModel):
    balance: Money
    currency: str
    low_balance_threshold: Money
    below_threshold: bool


class ThresholdUpdate(RequestBody):
    low_balance_threshold: Money


class LedgerEntryRead(BaseModel):
    id: str
    kind: str
    amount: SignedMoney
    balance_after: Money
    reference: str
    created_at: Timestamp


def currency_of(request: Request) -> str:
    return str(request.app.state.runtime.settings.currency)


def balance_view(row: Any | None, currency: str) -> Balance:
    if row is None:  # billing has not heard of the account yet: an empty wallet
        return Balance(
            balance=Decimal("0.00"), currency=currency, low_balance_threshold=Decimal("0.00"), below_threshold=False
        )
    return Balance(
        balance=from_minor(row.balance_minor),
        currency=row.currency,
        low_balance_threshold=from_minor(row.low_balance_threshold_minor),
        below_threshold=is_below(row.balance_minor, row.low_balance_threshold_minor),
    )


@router.get("/balance")
async def get_balance(caller: AccountUserDep, db: SessionDep, request: Request) -> Balance:
    """The account's balance and whether it is below the low-balance threshold."""
    row = (await db.execute(select(wallet).where(wallet.c.account_id == caller.account_id))).first()
    return balance_view(row, currency_of(request))


@router.put("/threshold")
async def put_threshold(body: ThresholdUpdate, admin: AdminDep, db: SessionDep, request: Request) -> Balance:
    """Set the low-balance threshold (administrators)."""
    row = await set_threshold(
        db,
        account_id=admin.account_id,
        threshold_minor=to_minor(body.low_balance_threshold),
        currency=currency_of(request),
    )
    return balance_view(row, currency_of(request))


@router.get("/ledger")
async def get_ledger(caller: AccountUserDep, db: SessionDep, paging: PageDep) -> Page[LedgerEntryRead]:
    """Every change of the balance, newest first."""
    query = select(ledger_entry).where(ledger_entry.c.account_id == caller.account_id)
    order = [ledger_entry.c.created_at.desc(), ledger_entry.c.id]
    rows, total = await fetch_page(db, query, order_by=order, paging=paging)
    items = [
        LedgerEntryRead(
            id=r.id,
            kind=r.kind,
            amount=from_minor(r.amount_minor),
            balance_after=from_minor(r.balance_after_minor),
            reference=r.reference,
            created_at=r.created_at,
        )
        for r in rows
    ]
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)
