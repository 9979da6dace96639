"""Online top-ups: open a checkout, follow the payment, recheck it, and the providers' webhooks."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import select

from billing.adapters.tables import payment
from billing.api.deps import ProviderDep, SettingsDep
from billing.api.idempotency import IDEMPOTENCY_KEY_REUSED, IdempotencyKeyDep, answer_for, conflicts, sent
from billing.payments import find_payment, receive_webhook, recheck, start_payment
from tollgate_shared.auth_upstream import AccountUserDep
from tollgate_shared.errors import NotFound
from tollgate_shared.fields import RequestBody, Timestamp
from tollgate_shared.money import Money, PositiveMoney, format_money, from_minor, to_minor
from tollgate_shared.openapi import PUBLIC, optional_header, problems
from tollgate_shared.pagination import Page, PageDep, fetch_page
from tollgate_shared.service import RuntimeDep, SessionDep

router = APIRouter(tags=["payments"])

# Where the payer comes back to in the UI (Billing & Payments > Add Credits), with `?payment_id=`.
ADD_CREDITS_PAGE = "/billing/add-credits"


class OnlineTopUp(RequestBody):
    amount: PositiveMoney


class PaymentRead(BaseModel):
    payment_id: str
    amount: Money
    currency: str
    status: str
    provider: str
    redirect_url: str
    provider_reference: str | None
    order_id: str | None
    failure_reason: str | None
    created_at: Timestamp
    completed_at: Timestamp | None


def payment_view(row: Any) -> PaymentRead:
    return PaymentRead(
        payment_id=row.id,
        amount=from_minor(row.amount_minor),
        currency=row.currency,
        status=row.status,
        provider=row.provider,
        redirect_url=row.redirect_url,
        provider_reference=row.provider_reference,
        order_id=row.order_id,
        failure_reason=row.failure_reason,
        created_at=row.created_at,
        completed_at=row.completed_at,
    )


@router.post(
    "/api/billing/credits/online",
    status_code=201,
    response_model=PaymentRead,
    responses=conflicts(f"The balance has no room for the amount (`balance_limit`); or {IDEMPOTENCY_KEY_REUSED}."),
)
async def add_credits_online(
    body: OnlineTopUp,
    caller: AccountUserDep,
    key: IdempotencyKeyDep,
    runtime: RuntimeDep,
    provider: ProviderDep,
    settings: SettingsDep,
) -> PaymentRead | Response:
    """Open a checkout with the payment provider; the wallet is credited when it reports the payment paid."""
    answer = answer_for(key, body, status=201, render=payment_view)
    row = await start_payment(
        runtime.session_factory,
        provider,
        account_id=caller.account_id,
        created_by=caller.user_id,
        amount_minor=to_minor(body.amount),
        description=f"Tollgate credits ({settings.currency} {format_money(body.amount)})",
        return_path=ADD_CREDITS_PAGE,
        settings=settings,
        answer=answer,
    )
    return sent(answer) or payment_view(row)


@router.get("/api/billing/payments")
async def list_payments(caller: AccountUserDep, db: SessionDep, paging: PageDep) -> Page[PaymentRead]:
    """The account's online payments, newest first."""
    query = select(payment).where(payment.c.account_id == caller.account_id)
    rows, total = await fetch_page(db, query, order_by=[payment.c.created_at.desc(), payment.c.id], paging=paging)
    return Page(items=[payment_view(r) for r in rows], total=total, page=paging.page, page_size=paging.page_size)


@router.get("/api/billing/payments/{payment_id}")
async def get_payment(payment_id: str, caller: AccountUserDep, db: SessionDep) -> PaymentRead:
    """One payment and its status (another account's payment is a 404)."""
    return payment_view(await find_payment(db, caller.account_id, payment_id))


@router.post("/api/billing/payments/{payment_id}/recheck", responses=problems(409))
async def recheck_payment(
    payment_id: str, caller: AccountUserDep, runtime: RuntimeDep, provider: ProviderDep, settings: SettingsDep
) -> PaymentRead:
    """ "Recheck Payment Status": ask the provider and credit the payment if it succeeded and was not credited yet."""
    row = await recheck(
        runtime.session_factory, provider, account_id=caller.account_id, payment_id=payment_id, settings=settings
    )
    return payment_view(row)


# The body is read raw (its signature covers the exact bytes), so FastAPI cannot document it.
SIGNED_EVENT = {
    **PUBLIC,
    "parameters": [
        optional_header("Stripe-Signature", "The provider's signature of the body (`t=<unix time>,v1=<HMAC-SHA256>`).")
    ],
    "requestBody": {
        "required": True,
        "description": "The provider's event, as it signed it.",
        "content": {"application/json": {"schema": {"type": "object"}}},
    },
}


@router.post("/api/billing/webhooks/{provider_name}", openapi_extra=SIGNED_EVENT, responses=problems(400))
async def provider_webhook(
    provider_name: str, request: Request, runtime: RuntimeDep, provider: ProviderDep, settings: SettingsDep
) -> dict[str, bool]:
    """The configured provider's signed notification; anything unsigned or stale is a 400 and changes nothing."""
    if provider_name != provider.name:
        raise NotFound("No such webhook.")
    payload = await request.body()
    applied = await receive_webhook(
        runtime.session_factory, provider, payload, request.headers.get("stripe-signature"), settings
    )
    return {"received": True, "applied": applied}
