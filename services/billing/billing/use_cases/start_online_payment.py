"""Adding credits online: a checkout opened with the provider, then the pending payment recorded.

Provider calls happen outside any transaction, so a slow provider never holds a database connection.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing.adapters.idempotency_store import KeepsAnswer
from billing.adapters.payment_store import insert_payment, payment_by_id
from billing.adapters.wallet_store import balance_of
from billing.domain.ledger import check_room
from billing.domain.payments import CheckoutRequest, Payment, PaymentProvider, PaymentStatus
from billing.settings import BillingSettings
from tollgate_shared.metrics.catalogue import PAYMENTS
from tollgate_shared.metrics.counting import count_after_commit

Sessions = async_sessionmaker[AsyncSession]


async def start_payment(
    sessions: Sessions,
    provider: PaymentProvider,
    *,
    account_id: str,
    created_by: str,
    amount_minor: int,
    description: str,
    return_path: str,
    settings: BillingSettings,
    order_id: str | None = None,
    answer: KeepsAnswer[Payment] | None = None,
) -> Payment:
    """Open a checkout (our payment id is the provider's idempotency key), then record the pending payment.

    Refused before the provider is asked: an amount outside the online payment
    limits (422), or one the balance has no room for (409 `balance_limit`).
    With `answer` (an `Idempotency-Key`), a key answered before is answered
    again before the provider is asked, and the answer is kept with the payment.
    """
    settings.online_limits.check(amount_minor)
    async with sessions() as db:
        if answer is not None:
            await answer.replay(db)
        check_room(await balance_of(db, account_id), amount_minor)
    payment_id = str(uuid.uuid4())
    # Stripe needs absolute return addresses; the sandbox stays relative to whichever gateway served it.
    base = "" if provider.name == "sandbox" else settings.public_url.rstrip("/")
    back = f"{base}{return_path}?payment_id={payment_id}"
    checkout = await provider.create_checkout(
        CheckoutRequest(
            payment_id=payment_id,
            account_id=account_id,
            amount_minor=amount_minor,
            currency=settings.currency,
            description=description,
            success_url=back,
            cancel_url=f"{back}&cancelled=1",
        )
    )
    async with sessions() as db, db.begin():
        if answer is not None:
            # A concurrent request with the key recorded its payment first: its answer is the
            # answer, and this checkout, never shown to anyone, expires unpaid.
            await answer.claim(db)
        values: dict[str, object] = {
            "id": payment_id,
            "account_id": account_id,
            "amount_minor": amount_minor,
            "currency": settings.currency,
            "provider": provider.name,
            "provider_session": checkout.session_id,
            "redirect_url": checkout.redirect_url,
            "status": str(PaymentStatus.PENDING),
            "order_id": order_id,
            "created_by": created_by,
            "created_at": datetime.now(UTC),
        }
        await insert_payment(db, values)
        started = await payment_by_id(db, payment_id)
        if answer is not None:
            await answer.keep(db, started)
        count_after_commit(db, PAYMENTS.labels("billing", provider.name, "pending"))
        return started
