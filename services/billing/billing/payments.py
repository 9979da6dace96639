"""Online payments: a checkout opened with the provider, settled once however the news arrives.

The webhook, "Recheck Payment Status", a duplicate webhook and concurrent
rechecks all end in `settle`, which locks the payment row: the first to see
`succeeded` credits the wallet (a ledger entry unique per payment), the others
find the payment settled. Provider calls happen outside any transaction, so a
slow provider never holds a database connection.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing.adapters.tables import payment
from billing.domain.ledger import BalanceLimit, check_room
from billing.domain.payments import CheckoutRequest, Outcome, PaymentProvider
from billing.idempotency import KeepsAnswer, given
from billing.ledger import apply_to_wallet, balance_of, locked_wallet
from billing.orders import find_order, pay_awaiting_order, pay_order
from billing.profiles import buyer_of
from billing.settings import BillingSettings
from tollgate_shared.errors import Conflict, NotFound
from tollgate_shared.events.models import PaymentFailed, PaymentSucceeded
from tollgate_shared.metrics.catalogue import PAYMENTS
from tollgate_shared.metrics.counting import count_after_commit
from tollgate_shared.money import from_minor
from tollgate_shared.outbox import record_event

log = logging.getLogger(__name__)

Sessions = async_sessionmaker[AsyncSession]


class ProviderChanged(Conflict):
    code, title = "provider_changed", "This payment was made with a provider that is no longer configured"


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
    answer: KeepsAnswer[Any] | None = None,
) -> Any:
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
        await db.execute(
            payment.insert().values(
                id=payment_id,
                account_id=account_id,
                amount_minor=amount_minor,
                currency=settings.currency,
                provider=provider.name,
                provider_session=checkout.session_id,
                redirect_url=checkout.redirect_url,
                status="pending",
                order_id=order_id,
                created_by=created_by,
                created_at=datetime.now(UTC),
            )
        )
        row = await _payment_row(db, payment_id)
        if answer is not None:
            await answer.keep(db, row)
        count_after_commit(db, PAYMENTS.labels("billing", provider.name, "pending"))
        return row


async def pay_order_online(
    sessions: Sessions,
    provider: PaymentProvider,
    *,
    account_id: str,
    created_by: str,
    order_id: str,
    return_path: str,
    settings: BillingSettings,
    answer: KeepsAnswer[tuple[Any, Any | None]] | None = None,
) -> tuple[Any, Any | None]:
    """Pay an order online (DESIGN §10): a checkout for what the balance lacks; the order and the payment, if any.

    The payment credits the wallet and `settle` then pays the order from
    credits. Nothing lacking: paid from credits now, without a checkout.
    With `answer` (an `Idempotency-Key`), the answer is kept in the transaction
    that pays the order, or else with the checkout's payment.
    """
    async with sessions() as db, db.begin():
        if answer is not None:
            await answer.claim(db)  # the key before the wallet, as every request with a key takes them
        # The wallet before the order, as every payment of an order locks them.
        wallet_row = await locked_wallet(db, account_id, currency=settings.currency)
        row = await find_order(db, account_id, order_id)
        done = row if row.status == "paid" else None
        if done is None:
            charge = settings.online_limits.charge_for_order(
                total_minor=int(row.total_minor), balance_minor=int(wallet_row.balance_minor)
            )
            if charge == 0:
                done = await pay_order(db, account_id=account_id, order_id=order_id, settings=settings)
        if done is not None:
            if answer is not None:
                await answer.keep(db, (done, None))
            return done, None
        if answer is not None:
            # Nothing to keep yet: rolled back, the key is free again until the payment is recorded with it.
            await db.rollback()
    # No transaction is open while the provider is asked.
    started = await start_payment(
        sessions,
        provider,
        account_id=account_id,
        created_by=created_by,
        amount_minor=charge,
        description=f"Order {order_id}",
        return_path=return_path,
        settings=settings,
        order_id=order_id,
        answer=given(answer, lambda started: (row, started)) if answer is not None else None,
    )
    return row, started


async def settle(db: AsyncSession, payment_id: str, outcome: Outcome, settings: BillingSettings) -> Any:
    """Apply what the provider says, once: the one place a payment credits the wallet."""
    row = await _payment_row(db, payment_id, lock=True)
    if row.status == "succeeded" or outcome.status == "pending":
        return row
    now = datetime.now(UTC)
    if outcome.status == "succeeded":
        if _differs(row, outcome):
            log.error(
                "payment %s: the provider reports %s %s, we asked for %s %s; not credited",
                row.id, outcome.amount_minor, outcome.currency, row.amount_minor, row.currency,
            )  # fmt: skip
            return row
        try:
            # The money first: a balance with no room for it refuses before anything is written.
            await apply_to_wallet(
                db,
                account_id=row.account_id,
                kind="online_payment",
                reference=row.id,
                amount_minor=row.amount_minor,
                currency=row.currency,
            )
        except BalanceLimit:
            # Paid, but not creditable yet: it stays pending, and a recheck (or the provider's
            # retried webhook) credits it once the balance has room.
            log.warning("payment %s succeeded but the balance has no room for it yet; left pending", row.id)
            raise
        # Money the provider took counts even after we saw the checkout fail or expire.
        await db.execute(
            update(payment)
            .where(payment.c.id == row.id)
            .values(status="succeeded", provider_reference=outcome.reference, failure_reason=None, completed_at=now)
        )
        buyer, _ = await buyer_of(db, row.account_id, settings)
        succeeded = PaymentSucceeded(
            payment_id=row.id,
            amount=from_minor(row.amount_minor),
            currency=row.currency,
            provider=row.provider,
            provider_reference=outcome.reference or row.provider_session,
            paid_at=now,
            buyer=buyer,
        )
        await record_event(db, succeeded, account_id=row.account_id)
        count_after_commit(db, PAYMENTS.labels("billing", row.provider, "succeeded"))
        if row.order_id is not None:
            # Paid from the credits just added; if the order was paid meanwhile, the money stays as credits.
            await pay_awaiting_order(
                db,
                account_id=row.account_id,
                order_id=row.order_id,
                settings=settings,
                method="online",
                payment_reference=outcome.reference or row.id,
            )
    elif row.status == "pending":
        await db.execute(
            update(payment)
            .where(payment.c.id == row.id)
            .values(status=outcome.status, failure_reason=outcome.reason or None, completed_at=now)
        )
        failed = PaymentFailed(
            payment_id=row.id,
            amount=from_minor(row.amount_minor),
            currency=row.currency,
            provider=row.provider,
            status="expired" if outcome.status == "expired" else "failed",
            reason=outcome.reason,
        )
        await record_event(db, failed, account_id=row.account_id)
        count_after_commit(db, PAYMENTS.labels("billing", row.provider, outcome.status))
    return await _payment_row(db, payment_id)


async def receive_webhook(
    sessions: Sessions, provider: PaymentProvider, payload: bytes, signature: str | None, settings: BillingSettings
) -> bool:
    """A provider's signed notification (BadWebhook when it does not verify); True when it settled a payment."""
    outcome = provider.read_webhook(payload, signature)
    if outcome is None:
        return False
    async with sessions() as db, db.begin():
        payment_id = await db.scalar(
            select(payment.c.id).where(
                payment.c.provider == provider.name, payment.c.provider_session == outcome.session_id
            )
        )
        if payment_id is None:
            # Not one of ours (another system on the same provider account): acknowledged, ignored.
            log.warning("%s webhook about unknown session %s ignored", provider.name, outcome.session_id)
            return False
        await settle(db, payment_id, outcome, settings)
    return True


async def recheck(
    sessions: Sessions, provider: PaymentProvider, *, account_id: str, payment_id: str, settings: BillingSettings
) -> Any:
    """ "Recheck Payment Status": ask the provider now and settle what it says."""
    async with sessions() as db:
        row = await find_payment(db, account_id, payment_id)
    if row.status == "succeeded":
        return row
    if row.provider != provider.name:
        raise ProviderChanged(f"Payment {payment_id} was made with {row.provider}.")
    outcome = await provider.outcome_of(row.provider_session)
    async with sessions() as db, db.begin():
        return await settle(db, payment_id, outcome, settings)


async def find_payment(db: AsyncSession, account_id: str, payment_id: str) -> Any:
    """The account's payment; another account's (or none) is a 404."""
    row = (
        await db.execute(select(payment).where(payment.c.id == payment_id, payment.c.account_id == account_id))
    ).first()
    if row is None:
        raise NotFound("No such payment.")
    return row


async def _payment_row(db: AsyncSession, payment_id: str, *, lock: bool = False) -> Any:
    query = select(payment).where(payment.c.id == payment_id)
    return (await db.execute(query.with_for_update() if lock else query)).one()


def _differs(row: Any, outcome: Outcome) -> bool:
    wrong_amount = outcome.amount_minor is not None and outcome.amount_minor != row.amount_minor
    wrong_currency = outcome.currency is not None and outcome.currency != row.currency
    return wrong_amount or wrong_currency
