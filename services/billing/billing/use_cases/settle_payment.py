"""Settling an online payment once, however the news arrives: the provider's webhook or "Recheck Payment Status".

The webhook, a recheck, a duplicate webhook and concurrent rechecks all end in
`settle`, which locks the payment row: the first to see `succeeded` credits the
wallet (a ledger entry unique per payment), the others find the payment settled.
What an outcome does to a payment is `billing.domain.payments.settlement`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from billing.adapters.payment_store import mark_closed, mark_succeeded, payment_by_id, payment_of_session
from billing.domain.ledger import BalanceLimit, EntryKind
from billing.domain.payments import Outcome, Payment, PaymentProvider, PaymentStatus, Settlement, settlement
from billing.settings import BillingSettings
from billing.use_cases.apply_to_wallet import apply_to_wallet
from billing.use_cases.pay_order import pay_awaiting_order
from billing.use_cases.profiles import buyer_of
from billing.use_cases.read_payments import payment_of
from billing.use_cases.start_online_payment import Sessions
from tollgate_shared.errors import Conflict
from tollgate_shared.events.models import PaymentFailed, PaymentSucceeded
from tollgate_shared.metrics.catalogue import PAYMENTS
from tollgate_shared.metrics.counting import count_after_commit
from tollgate_shared.money import from_minor
from tollgate_shared.outbox import record_event

log = logging.getLogger(__name__)


class ProviderChanged(Conflict):
    code, title = "provider_changed", "This payment was made with a provider that is no longer configured"


async def settle(db: AsyncSession, payment_id: str, outcome: Outcome, settings: BillingSettings) -> Payment:
    """Apply what the provider says, once: the one place a payment credits the wallet."""
    locked = await payment_by_id(db, payment_id, lock=True)
    step = settlement(locked, outcome)
    if step is Settlement.NOTHING:
        return locked
    if step is Settlement.MISMATCH:
        log.error(
            "payment %s: the provider reports %s %s, we asked for %s %s; not credited",
            locked.id, outcome.amount_minor, outcome.currency, locked.amount_minor, locked.currency,
        )  # fmt: skip
        return locked
    if step is Settlement.CREDIT:
        await _credit(db, locked, outcome, settings)
    else:
        await _close(db, locked, outcome)
    return await payment_by_id(db, payment_id)


async def _credit(db: AsyncSession, paid: Payment, outcome: Outcome, settings: BillingSettings) -> None:
    """Credit the wallet, mark the payment succeeded, announce it, and pay its order if it was for one."""
    try:
        # The money first: a balance with no room for it refuses before anything is written.
        await apply_to_wallet(
            db,
            account_id=paid.account_id,
            kind=EntryKind.ONLINE_PAYMENT,
            reference=paid.id,
            amount_minor=paid.amount_minor,
            currency=paid.currency,
        )
    except BalanceLimit:
        # Paid, but not creditable yet: it stays pending, and a recheck (or the provider's
        # retried webhook) credits it once the balance has room.
        log.warning("payment %s succeeded but the balance has no room for it yet; left pending", paid.id)
        raise
    now = datetime.now(UTC)
    # Money the provider took counts even after we saw the checkout fail or expire.
    await mark_succeeded(db, paid.id, provider_reference=outcome.reference, at=now)
    buyer, _ = await buyer_of(db, paid.account_id, seller_state=settings.seller_state)
    succeeded = PaymentSucceeded(
        payment_id=paid.id,
        amount=from_minor(paid.amount_minor),
        currency=paid.currency,
        provider=paid.provider,
        provider_reference=outcome.reference or paid.provider_session,
        paid_at=now,
        buyer=buyer,
    )
    await record_event(db, succeeded, account_id=paid.account_id)
    count_after_commit(db, PAYMENTS.labels("billing", paid.provider, "succeeded"))
    if paid.order_id is not None:
        # Paid from the credits just added; if the order was paid meanwhile, the money stays as credits.
        await pay_awaiting_order(
            db,
            account_id=paid.account_id,
            order_id=paid.order_id,
            currency=settings.currency,
            payment_reference=outcome.reference or paid.id,
        )


async def _close(db: AsyncSession, pending: Payment, outcome: Outcome) -> None:
    """A pending payment failed or expired at the provider: marked so, and announced."""
    await mark_closed(db, pending.id, status=outcome.status, reason=outcome.reason or None, at=datetime.now(UTC))
    failed = PaymentFailed(
        payment_id=pending.id,
        amount=from_minor(pending.amount_minor),
        currency=pending.currency,
        provider=pending.provider,
        status="expired" if outcome.status is PaymentStatus.EXPIRED else "failed",
        reason=outcome.reason,
    )
    await record_event(db, failed, account_id=pending.account_id)
    count_after_commit(db, PAYMENTS.labels("billing", pending.provider, str(outcome.status)))


async def receive_webhook(
    sessions: Sessions, provider: PaymentProvider, payload: bytes, signature: str | None, settings: BillingSettings
) -> bool:
    """A provider's signed notification (BadWebhook when it does not verify); True when it settled a payment."""
    outcome = provider.read_webhook(payload, signature)
    if outcome is None:
        return False
    async with sessions() as db, db.begin():
        payment_id = await payment_of_session(db, provider.name, outcome.session_id)
        if payment_id is None:
            # Not one of ours (another system on the same provider account): acknowledged, ignored.
            log.warning("%s webhook about unknown session %s ignored", provider.name, outcome.session_id)
            return False
        await settle(db, payment_id, outcome, settings)
    return True


async def recheck(
    sessions: Sessions, provider: PaymentProvider, *, account_id: str, payment_id: str, settings: BillingSettings
) -> Payment:
    """ "Recheck Payment Status": ask the provider now and settle what it says."""
    async with sessions() as db:
        found = await payment_of(db, account_id, payment_id)
    if found.status is PaymentStatus.SUCCEEDED:
        return found
    if found.provider != provider.name:
        raise ProviderChanged(f"Payment {payment_id} was made with {found.provider}.")
    outcome = await provider.outcome_of(found.provider_session)
    async with sessions() as db, db.begin():
        return await settle(db, payment_id, outcome, settings)
