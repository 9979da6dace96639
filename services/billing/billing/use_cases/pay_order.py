"""Paying an order that awaits payment: from credits, or online (a checkout for what the balance lacks)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from billing.adapters.idempotency_store import KeepsAnswer, given
from billing.adapters.order_store import find_order, mark_paid
from billing.domain.ledger import EntryKind, InsufficientCredits
from billing.domain.orders import Order, OrderStatus, PaymentMethod
from billing.domain.payments import Payment, PaymentProvider
from billing.settings import BillingSettings
from billing.use_cases.apply_to_wallet import apply_to_wallet, locked_wallet
from billing.use_cases.order_events import paid_event
from billing.use_cases.read_orders import order_of
from billing.use_cases.start_online_payment import Sessions, start_payment
from tollgate_shared.money import from_minor
from tollgate_shared.outbox import record_events

# An order, and the online payment opened for it (None when none was needed).
Paying = tuple[Order, Payment | None]


async def pay_order(db: AsyncSession, *, account_id: str, order_id: str, settings: BillingSettings) -> Order:
    """Pay an awaiting order from credits (402 when they do not cover it); a paid order stays paid."""
    # The wallet before the order, as a credited online payment takes them when it
    # pays its order: the same two locks taken the other way round could deadlock.
    await locked_wallet(db, account_id, currency=settings.currency)
    found = await order_of(db, account_id, order_id, lock=True)
    if found.status is OrderStatus.PAID:
        return found
    paid = await _pay_from_credits(db, found, settings.currency, PaymentMethod.CREDITS)
    if paid is None:
        raise InsufficientCredits(f"The order's total is {from_minor(found.total_minor)}.")
    paid_order, entry_id = paid
    await record_events(db, [paid_event(paid_order, entry_id)])
    return paid_order


async def pay_order_with_key(
    sessions: Sessions,
    *,
    account_id: str,
    order_id: str,
    settings: BillingSettings,
    answer: KeepsAnswer[Order] | None = None,
) -> Order:
    """`pay_order` in a transaction of its own, which claims `answer`'s key first and keeps the answer."""
    async with sessions() as db, db.begin():
        if answer is not None:
            await answer.claim(db)
        paid = await pay_order(db, account_id=account_id, order_id=order_id, settings=settings)
        if answer is not None:
            await answer.keep(db, paid)
    return paid


async def pay_order_online(
    sessions: Sessions,
    provider: PaymentProvider,
    *,
    account_id: str,
    created_by: str,
    order_id: str,
    return_path: str,
    settings: BillingSettings,
    answer: KeepsAnswer[Paying] | None = None,
) -> Paying:
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
        wallet = await locked_wallet(db, account_id, currency=settings.currency)
        found = await order_of(db, account_id, order_id)
        done = found if found.status is OrderStatus.PAID else None
        if done is None:
            charge = settings.online_limits.charge_for_order(
                total_minor=found.total_minor, balance_minor=wallet.balance_minor
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
        answer=given(answer, lambda payment: (found, payment)) if answer is not None else None,
    )
    return found, started


async def pay_awaiting_order(
    db: AsyncSession, *, account_id: str, order_id: str, currency: str, payment_reference: str
) -> bool:
    """Pay the order from credits if it still awaits payment (after an online payment credited them)."""
    found = await find_order(db, account_id, order_id, lock=True)
    if found is None or found.status is OrderStatus.PAID:
        return False
    paid = await _pay_from_credits(db, found, currency, PaymentMethod.ONLINE)
    if paid is None:
        return False
    await record_events(db, [paid_event(paid[0], payment_reference)])
    return True


async def _pay_from_credits(
    db: AsyncSession, awaiting: Order, currency: str, method: PaymentMethod
) -> tuple[Order, str] | None:
    """The paid order and the ledger entry's id when credits paid it; None when they do not cover it."""
    try:
        applied = await apply_to_wallet(
            db,
            account_id=awaiting.account_id,
            kind=EntryKind.ORDER,
            reference=awaiting.order_id,
            amount_minor=-awaiting.total_minor,
            currency=currency,
        )
    except InsufficientCredits:
        return None
    paid = await mark_paid(db, awaiting.id, paid_at=datetime.now(UTC), method=method)
    return paid, applied.entry_id
