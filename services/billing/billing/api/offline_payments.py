"""Offline top-ups: users submit and follow them; finance staff decide."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from billing.adapters.tables import billing_profile, offline_payment
from billing.api.deps import SettingsDep
from billing.api.idempotency import IdempotencyKeyDep, answer_for, conflicts, sent
from billing.offline_payments import THANK_YOU, decide, find, submit
from tollgate_shared.access_tokens import Principal
from tollgate_shared.auth_upstream import AccountUserDep
from tollgate_shared.callers import live_principal
from tollgate_shared.errors import DomainError
from tollgate_shared.fields import CalendarDate, RequestBody, Timestamp
from tollgate_shared.money import Money, PositiveMoney, from_minor
from tollgate_shared.openapi import problems
from tollgate_shared.pagination import Page, PageDep, fetch_page
from tollgate_shared.service import SessionDep

router = APIRouter(tags=["offline payments"])
Status = Literal["pending_approval", "approved", "rejected"]


class OfflinePaymentCreate(RequestBody):
    amount: PositiveMoney
    mode: Literal["neft", "rtgs", "imps", "cheque", "wire"]
    reference: str = Field(min_length=1, max_length=100, description="the UTR or cheque number")
    paid_on: CalendarDate
    bank: str | None = Field(default=None, max_length=100)
    note: str | None = Field(default=None, max_length=500)


class OfflinePaymentRead(BaseModel):
    id: str
    account_id: str
    # Finance's lists span accounts: the name finance recognises (legal name, else the account's name).
    account_name: str | None = None
    status: Status
    amount: Money
    approved_amount: Money | None
    currency: str
    mode: str
    reference: str
    paid_on: date
    bank: str | None
    note: str | None
    reason: str | None
    created_at: Timestamp
    decided_at: Timestamp | None


class Submitted(BaseModel):
    id: str
    status: Status
    message: str


class Decision(RequestBody):
    decision: Literal["approve", "reject"]
    amount: PositiveMoney | None = None
    reason: str | None = Field(default=None, max_length=500)


class StaffTotpRequired(DomainError):
    status, code, title = 403, "finance_staff_only", "Only finance staff who logged in with TOTP decide"


def view(row: Any) -> OfflinePaymentRead:
    return OfflinePaymentRead(
        id=row.id,
        account_id=row.account_id,
        account_name=getattr(row, "account_name", None),
        status=row.status,
        amount=from_minor(row.amount_minor),
        approved_amount=from_minor(row.approved_amount_minor) if row.approved_amount_minor is not None else None,
        currency=row.currency,
        mode=row.mode,
        reference=row.reference,
        paid_on=row.paid_on,
        bank=row.bank,
        note=row.note,
        reason=row.reason,
        created_at=row.created_at,
        decided_at=row.decided_at,
    )


async def finance_staff(request: Request) -> Principal:
    principal = await live_principal(request)
    if not principal.is_staff or not principal.used_totp:
        raise StaffTotpRequired()
    return principal


StaffDep = Annotated[Principal, Depends(finance_staff)]


def submitted(row: Any) -> Submitted:
    return Submitted(id=row.id, status=row.status, message=THANK_YOU)


DUPLICATE_OR_REUSED = (
    "The transfer was submitted already and is pending or approved (`duplicate_reference`, naming that request in "
    "`offline_payment_id` and `offline_payment_status`); the balance has no room for it (`balance_limit`); or "
    "the `Idempotency-Key` was used for another request (`idempotency_key_reused`)."
)


@router.post(
    "/api/billing/credits/offline",
    status_code=202,
    response_model=Submitted,
    responses=conflicts(DUPLICATE_OR_REUSED),
)
async def submit_offline_payment(
    body: OfflinePaymentCreate, caller: AccountUserDep, key: IdempotencyKeyDep, db: SessionDep, settings: SettingsDep
) -> Submitted | Response:
    """Tell finance about a bank transfer or cheque, once (a reference pending or approved is a 409 naming it);
    the wallet is credited when finance approves."""
    answer = answer_for(key, body, status=202, render=submitted)
    row = await submit(
        db,
        account_id=caller.account_id,
        submitted_by=caller.user_id,
        amount=body.amount,
        mode=body.mode,
        reference=body.reference.strip(),
        paid_on=body.paid_on,
        bank=body.bank,
        note=body.note,
        settings=settings,
        answer=answer,
    )
    return sent(answer) or submitted(row)


@router.get("/api/billing/offline-payments")
async def list_own(caller: AccountUserDep, db: SessionDep, paging: PageDep) -> Page[OfflinePaymentRead]:
    """The account's offline payments with their status and reason, newest first."""
    query = select(offline_payment).where(offline_payment.c.account_id == caller.account_id)
    rows, total = await fetch_page(
        db, query, order_by=[offline_payment.c.created_at.desc(), offline_payment.c.id], paging=paging
    )
    return Page(items=[view(r) for r in rows], total=total, page=paging.page, page_size=paging.page_size)


@router.get("/api/finance/offline-payments")
async def list_for_finance(
    staff: StaffDep, db: SessionDep, paging: PageDep, status: Annotated[Status | None, Query()] = None
) -> Page[OfflinePaymentRead]:
    """Every account's offline payments (finance staff), newest first, by status, with the account's name."""
    name = func.coalesce(billing_profile.c.legal_name, billing_profile.c.account_name).label("account_name")
    query = select(offline_payment, name).outerjoin(
        billing_profile, billing_profile.c.account_id == offline_payment.c.account_id
    )
    if status is not None:
        query = query.where(offline_payment.c.status == status)
    rows, total = await fetch_page(
        db, query, order_by=[offline_payment.c.created_at.desc(), offline_payment.c.id], paging=paging
    )
    return Page(items=[view(r) for r in rows], total=total, page=paging.page, page_size=paging.page_size)


@router.post("/api/finance/offline-payments/{payment_id}/decision", responses=problems(409))
async def post_decision(
    payment_id: str, body: Decision, staff: StaffDep, db: SessionDep, settings: SettingsDep
) -> OfflinePaymentRead:
    """Approve (for the amount that arrived) or reject (with a reason) a pending request, once."""
    await find(db, payment_id)  # 404 before anything else
    amount: Decimal | None = body.amount
    row = await decide(
        db,
        payment_id=payment_id,
        decision=body.decision,
        decided_by=staff.user_id,
        amount=amount,
        reason=body.reason,
        settings=settings,
    )
    return view(row)
