"""Online top-ups: open a checkout, follow the payment, recheck it, and the providers' webhooks."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel

from billing.api.deps import ProviderDep, SettingsDep
from billing.api.idempotency import IDEMPOTENCY_KEY_REUSED, IdempotencyKeyDep, answer_for, conflicts, sent
from billing.domain.payments import Payment, PaymentStatus
from billing.use_cases.read_payments import list_payments as list_account_payments
from billing.use_cases.read_payments import payment_of
from billing.use_cases.settle_payment import receive_webhook, recheck
from billing.use_cases.start_online_payment import start_payment
from tollgate_shared.auth_upstream import AccountUserDep
from tollgate_shared.errors import NotFound
from tollgate_shared.fields import RequestBody, Timestamp
from tollgate_shared.money import Money, PositiveMoney, format_money, from_minor, to_minor
from tollgate_shared.openapi import PUBLIC, optional_header, problems
from tollgate_shared.pagination import Page, PageDep
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
    status: PaymentStatus
    provider: str
    redirect_url: str
    provider_reference: str | None
    order_id: str | None
    failure_reason: str | None
    created_at: Timestamp
    completed_at: Timestamp | None


def payment_view(payment: Payment) -> PaymentRead:
    return PaymentRead(
        payment_id=payment.id,
        amount=from_minor(payment.amount_minor),
        currency=payment.currency,
        status=payment.status,
        provider=payment.provider,
        redirect_url=payment.redirect_url,
        provider_reference=payment.provider_reference,
        order_id=payment.order_id,
        failure_reason=payment.failure_reason,
        created_at=payment.created_at,
        completed_at=payment.completed_at,
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
    started = await start_payment(
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
    return sent(answer) or payment_view(started)


@router.get("/api/billing/payments")
async def list_payments(caller: AccountUserDep, db: SessionDep, paging: PageDep) -> Page[PaymentRead]:
    """The account's online payments, newest first."""
    payments, total = await list_account_payments(db, caller.account_id, paging)
    return Page(items=[payment_view(p) for p in payments], total=total, page=paging.page, page_size=paging.page_size)


@router.get("/api/billing/payments/{payment_id}")
async def get_payment(payment_id: str, caller: AccountUserDep, db: SessionDep) -> PaymentRead:
    """One payment and its status (another account's payment is a 404)."""
    return payment_view(await payment_of(db, caller.account_id, payment_id))


@router.post("/api/billing/payments/{payment_id}/recheck", responses=problems(409))
async def recheck_payment(
    payment_id: str, caller: AccountUserDep, runtime: RuntimeDep, provider: ProviderDep, settings: SettingsDep
) -> PaymentRead:
    """ "Recheck Payment Status": ask the provider and credit the payment if it succeeded and was not credited yet."""
    settled = await recheck(
        runtime.session_factory, provider, account_id=caller.account_id, payment_id=payment_id, settings=settings
    )
    return payment_view(settled)


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
