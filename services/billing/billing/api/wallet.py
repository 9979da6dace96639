"""The wallet: balance, low-balance threshold, ledger."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from billing.api.deps import AdminDep, SettingsDep
from billing.domain.ledger import EntryKind, Wallet, is_below
from billing.use_cases.read_wallet import read_balance, read_ledger
from billing.use_cases.set_threshold import set_threshold
from tollgate_shared.auth_upstream import AccountUserDep
from tollgate_shared.fields import RequestBody, Timestamp
from tollgate_shared.money import Money, SignedMoney, from_minor, to_minor
from tollgate_shared.pagination import Page, PageDep
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
    kind: EntryKind
    amount: SignedMoney
    balance_after: Money
    reference: str
    created_at: Timestamp


def balance_view(held: Wallet) -> Balance:
    return Balance(
        balance=from_minor(held.balance_minor),
        currency=held.currency,
        low_balance_threshold=from_minor(held.low_balance_threshold_minor),
        below_threshold=is_below(held.balance_minor, held.low_balance_threshold_minor),
    )


@router.get("/balance")
async def get_balance(caller: AccountUserDep, db: SessionDep, settings: SettingsDep) -> Balance:
    """The account's balance and whether it is below the low-balance threshold."""
    return balance_view(await read_balance(db, caller.account_id, currency=settings.currency))


@router.put("/threshold")
async def put_threshold(body: ThresholdUpdate, admin: AdminDep, db: SessionDep, settings: SettingsDep) -> Balance:
    """Set the low-balance threshold (administrators)."""
    changed = await set_threshold(
        db,
        account_id=admin.account_id,
        threshold_minor=to_minor(body.low_balance_threshold),
        currency=settings.currency,
    )
    return balance_view(changed)


@router.get("/ledger")
async def get_ledger(caller: AccountUserDep, db: SessionDep, paging: PageDep) -> Page[LedgerEntryRead]:
    """Every change of the balance, newest first."""
    entries, total = await read_ledger(db, caller.account_id, paging)
    items = [
        LedgerEntryRead(
            id=e.id,
            kind=e.kind,
            amount=from_minor(e.amount_minor),
            balance_after=from_minor(e.balance_after_minor),
            reference=e.reference,
            created_at=e.created_at,
        )
        for e in entries
    ]
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)
