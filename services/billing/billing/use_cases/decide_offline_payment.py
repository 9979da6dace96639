"""Deciding an offline top-up, once: approved (credited) or rejected, by finance staff through the API or by
the finance approval service's `finance.offline_payment.decided` event (the reaction below).

Both ways go through `decide`, so the rules (`billing.domain.offline_payments.judge`) hold whichever arrives.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from billing.adapters.offline_payment_store import mark_decided
from billing.domain.ledger import BalanceLimit, EntryKind
from billing.domain.offline_payments import (
    BILLING,
    AlreadyDecided,
    DecisionKind,
    OfflinePayment,
    OfflinePaymentStatus,
    Ruling,
    judge,
    uncredited_approval,
)
from billing.settings import BillingSettings
from billing.use_cases.apply_to_wallet import apply_to_wallet
from billing.use_cases.profiles import buyer_of
from billing.use_cases.read_offline_payments import offline_payment_of
from tollgate_shared.bus import PoisonMessage
from tollgate_shared.errors import DomainError
from tollgate_shared.events import Envelope
from tollgate_shared.events.models import OfflinePaymentApproved, OfflinePaymentDecided, OfflinePaymentRejected
from tollgate_shared.metrics.catalogue import PAYMENTS
from tollgate_shared.metrics.counting import count_after_commit
from tollgate_shared.money import from_minor, to_minor
from tollgate_shared.outbox import record_event

log = logging.getLogger(__name__)


async def decide(
    db: AsyncSession,
    *,
    payment_id: str,
    decision: DecisionKind,
    decided_by: str,
    amount: Decimal | None,
    reason: str | None,
    settings: BillingSettings,
) -> OfflinePayment:
    """Approve (crediting `amount`, by default the submitted one) or reject (with a reason), once.

    An approval the balance has no room for raises `BalanceLimit` (409) before anything is written.
    """
    pending = await offline_payment_of(db, payment_id, lock=True)
    amount_minor = to_minor(amount) if amount is not None else None
    ruling = judge(pending, decision, decided_by=decided_by, amount_minor=amount_minor, reason=reason)
    if ruling.decision is DecisionKind.REJECT:
        await _reject(db, pending, ruling, decided_by)
    else:
        await _approve(db, pending, ruling, decided_by, settings)
    return await offline_payment_of(db, payment_id)


async def _reject(db: AsyncSession, pending: OfflinePayment, ruling: Ruling, decided_by: str) -> None:
    assert ruling.reason is not None  # a rejection has one
    await mark_decided(
        db,
        pending.id,
        status=OfflinePaymentStatus.REJECTED,
        approved_amount_minor=None,
        reason=ruling.reason,
        decided_by=decided_by,
        at=datetime.now(UTC),
    )
    rejected = OfflinePaymentRejected(offline_payment_id=pending.id, reason=ruling.reason, rejected_by=decided_by)
    await record_event(db, rejected, account_id=pending.account_id)
    count_after_commit(db, PAYMENTS.labels("billing", "offline", "rejected"))


async def _approve(
    db: AsyncSession, pending: OfflinePayment, ruling: Ruling, decided_by: str, settings: BillingSettings
) -> None:
    # The money first: a balance with no room for it refuses before anything is written.
    await apply_to_wallet(
        db,
        account_id=pending.account_id,
        kind=EntryKind.OFFLINE_PAYMENT,
        reference=pending.id,
        amount_minor=ruling.amount_minor,
        currency=pending.currency,
    )
    await mark_decided(
        db,
        pending.id,
        status=OfflinePaymentStatus.APPROVED,
        approved_amount_minor=ruling.amount_minor,
        reason=ruling.reason,
        decided_by=decided_by,
        at=datetime.now(UTC),
    )
    buyer, _ = await buyer_of(db, pending.account_id, seller_state=settings.seller_state)
    approved = OfflinePaymentApproved(
        offline_payment_id=pending.id,
        amount=from_minor(ruling.amount_minor),
        currency=pending.currency,
        mode=str(pending.mode),
        reference=pending.reference,
        paid_on=pending.paid_on,
        bank=pending.bank,
        approved_by=decided_by,
        buyer=buyer,
    )
    await record_event(db, approved, account_id=pending.account_id)
    count_after_commit(db, PAYMENTS.labels("billing", "offline", "approved"))


async def apply_finance_decision(session: AsyncSession, event: Envelope, *, settings: BillingSettings) -> None:
    """The reaction to `finance.offline_payment.decided`: the same rules as the staff API, through `decide`.

    A decision already made is ignored; an approval the balance has no room for
    is recorded as a rejection saying why (`uncredited_approval`); any other
    refusal will not pass on a retry either, so the message is parked for an operator.
    """
    data = OfflinePaymentDecided.model_validate(event.data)
    try:
        await decide(
            session,
            payment_id=data.offline_payment_id,
            decision=DecisionKind(data.decision),
            decided_by=data.decided_by,
            amount=data.amount,
            reason=data.reason,
            settings=settings,
        )
    except AlreadyDecided:
        log.info("offline payment %s was already decided; %s ignored", data.offline_payment_id, event.id)
    except BalanceLimit as exc:
        log.warning(
            "offline payment %s: approval %s refused, recorded as rejected: %s",
            data.offline_payment_id,
            event.id,
            exc.detail,
        )
        await decide(
            session,
            payment_id=data.offline_payment_id,
            decision=DecisionKind.REJECT,
            decided_by=BILLING,
            amount=None,
            reason=uncredited_approval(data.decided_by, str(exc.detail)),
            settings=settings,
        )
    except (DomainError, ValueError) as exc:
        raise PoisonMessage(f"decision {event.id} refused: {exc}") from exc
