"""Offline top-ups: users submit and follow them; finance staff decide."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, field_validator

from billing.api.deps import SettingsDep
from billing.api.idempotency import IdempotencyKeyDep, answer_for, conflicts, sent
from billing.domain.offline_payments import (
    NO_REFERENCE,
    THANK_YOU,
    DecisionKind,
    OfflinePayment,
    OfflinePaymentStatus,
    TransferMode,
    india_today,
    paid_in_the_future,
    reference_key,
)
from billing.use_cases.decide_offline_payment import decide
from billing.use_cases.read_offline_payments import list_for_finance as list_every_account
from billing.use_cases.read_offline_payments import list_own as list_account
from billing.use_cases.read_offline_payments import offline_payment_of
from billing.use_cases.submit_offline_payment import submit
from tollgate_shared.access_tokens import Principal
from tollgate_shared.auth_upstream import AccountUserDep, account_user
from tollgate_shared.callers import live_principal
from tollgate_shared.errors import DomainError
from tollgate_shared.fields import CalendarDate, RequestBody, Timestamp
from tollgate_shared.money import Money, PositiveMoney, from_minor
from tollgate_shared.openapi import problems
from tollgate_shared.pagination import Page, PageDep
from tollgate_shared.service import SessionDep

router = APIRouter(tags=["offline payments"])


class OfflinePaymentCreate(RequestBody):
    amount: PositiveMoney
    # The enum's values, as JSON strings: strict bodies would take only an instance of it.
    mode: TransferMode = Field(strict=False)
    reference: str = Field(min_length=1, max_length=100, description="the UTR or cheque number")
    paid_on: CalendarDate
    bank: str | None = Field(default=None, max_length=100)
    note: str | None = Field(default=None, max_length=500)

    # The use case checks these again; here they join the schema's own errors in one 422.
    @field_validator("reference")
    @classmethod
    def _has_a_key(cls, reference: str) -> str:
        if not reference_key(reference):
            raise ValueError(NO_REFERENCE)
        return reference

    @field_validator("paid_on")
    @classmethod
    def _not_in_the_future(cls, paid_on: date) -> date:
        today = india_today(datetime.now(UTC))
        if paid_on > today:
            raise ValueError(paid_in_the_future(today))
        return paid_on


class OfflinePaymentRead(BaseModel):
    id: str
    account_id: str
    # Finance's lists span accounts: the name finance recognises (legal name, else the account's name).
    account_name: str | None = None
    status: OfflinePaymentStatus
    amount: Money
    approved_amount: Money | None
    currency: str
    mode: TransferMode
    reference: str
    paid_on: date
    bank: str | None
    note: str | None
    reason: str | None
    created_at: Timestamp
    decided_at: Timestamp | None


class Submitted(BaseModel):
    id: str
    status: OfflinePaymentStatus
    message: str


class Decision(RequestBody):
    decision: DecisionKind = Field(strict=False)  # its values, as JSON strings
    amount: PositiveMoney | None = None
    reason: str | None = Field(default=None, max_length=500)


class StaffTotpRequired(DomainError):
    status, code, title = 403, "finance_staff_only", "Only finance staff who logged in with TOTP decide"


def view(request: OfflinePayment) -> OfflinePaymentRead:
    approved = request.approved_amount_minor
    return OfflinePaymentRead(
        id=request.id,
        account_id=request.account_id,
        account_name=request.account_name,
        status=request.status,
        amount=from_minor(request.amount_minor),
        approved_amount=from_minor(approved) if approved is not None else None,
        currency=request.currency,
        mode=request.mode,
        reference=request.reference,
        paid_on=request.paid_on,
        bank=request.bank,
        note=request.note,
        reason=request.reason,
        created_at=request.created_at,
        decided_at=request.decided_at,
    )


async def finance_staff(request: Request) -> Principal:
    principal = await live_principal(request)
    if not principal.is_staff or not principal.used_totp:
        raise StaffTotpRequired()
    return principal


StaffDep = Annotated[Principal, Depends(finance_staff)]


def submitted(request: OfflinePayment) -> Submitted:
    return Submitted(id=request.id, status=request.status, message=THANK_YOU)


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
    recorded = await submit(
        db,
        account_id=caller.account_id,
        submitted_by=caller.user_id,
        amount=body.amount,
        mode=body.mode,
        reference=body.reference.strip(),
        paid_on=body.paid_on,
        bank=body.bank,
        note=body.note,
        currency=settings.currency,
        answer=answer,
    )
    return sent(answer) or submitted(recorded)


class PaymentInstructions(BaseModel):
    configured: bool = Field(description="false until the platform's bank details are set")
    account_name: str | None = Field(description="the beneficiary's name")
    account_number: str | None
    ifsc: str | None = Field(description="the branch's IFSC, for NEFT and RTGS")
    bank: str | None
    currency: str


@router.get("/api/billing/offline-payments/instructions", dependencies=[Depends(account_user)])
async def instructions(settings: SettingsDep) -> PaymentInstructions:
    """Where an offline top-up is paid into: the platform's bank account (settings `TOLLGATE_BANK_*`)."""
    details = (settings.bank_account_name, settings.bank_account_number, settings.bank_ifsc, settings.bank_name)
    return PaymentInstructions(
        configured=all(details),
        account_name=settings.bank_account_name,
        account_number=settings.bank_account_number,
        ifsc=settings.bank_ifsc,
        bank=settings.bank_name,
        currency=settings.currency,
    )


@router.get("/api/billing/offline-payments")
async def list_own(caller: AccountUserDep, db: SessionDep, paging: PageDep) -> Page[OfflinePaymentRead]:
    """The account's offline payments with their status and reason, newest first."""
    requests, total = await list_account(db, caller.account_id, paging)
    return Page(items=[view(r) for r in requests], total=total, page=paging.page, page_size=paging.page_size)


@router.get("/api/finance/offline-payments")
async def list_for_finance(
    staff: StaffDep,
    db: SessionDep,
    paging: PageDep,
    status: Annotated[OfflinePaymentStatus | None, Query()] = None,
) -> Page[OfflinePaymentRead]:
    """Every account's offline payments (finance staff), newest first, by status, with the account's name."""
    requests, total = await list_every_account(db, status, paging)
    return Page(items=[view(r) for r in requests], total=total, page=paging.page, page_size=paging.page_size)


@router.post("/api/finance/offline-payments/{payment_id}/decision", responses=problems(409))
async def post_decision(
    payment_id: str, body: Decision, staff: StaffDep, db: SessionDep, settings: SettingsDep
) -> OfflinePaymentRead:
    """Approve (for the amount that arrived) or reject (with a reason) a pending request, once."""
    await offline_payment_of(db, payment_id)  # 404 before anything else
    decided = await decide(
        db,
        payment_id=payment_id,
        decision=body.decision,
        decided_by=staff.user_id,
        amount=body.amount,
        reason=body.reason,
        settings=settings,
    )
    return view(decided)
