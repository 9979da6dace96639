"""Submitting an offline top-up (a bank transfer or cheque): recorded pending and announced to finance, once
per transfer."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from billing.adapters.idempotency_store import KeepsAnswer
from billing.adapters.offline_payment_store import insert_unless_live, live_request
from billing.adapters.wallet_store import balance_of
from billing.domain.ledger import check_room
from billing.domain.offline_payments import (
    DuplicateReference,
    OfflinePayment,
    OfflinePaymentStatus,
    TransferMode,
    check_submission,
    india_today,
)
from billing.use_cases.read_offline_payments import offline_payment_of
from tollgate_shared.events.models import OfflinePaymentSubmitted
from tollgate_shared.metrics.catalogue import PAYMENTS
from tollgate_shared.metrics.counting import count_after_commit
from tollgate_shared.money import to_minor
from tollgate_shared.outbox import record_event


async def submit(
    db: AsyncSession,
    *,
    account_id: str,
    submitted_by: str,
    amount: Decimal,
    mode: TransferMode,
    reference: str,
    paid_on: date,
    bank: str | None,
    note: str | None,
    currency: str,
    answer: KeepsAnswer[OfflinePayment] | None = None,
) -> OfflinePayment:
    """Record a pending request and announce it to finance, once per transfer (`DuplicateReference` otherwise).

    With `answer` (an `Idempotency-Key`), the key is claimed after the checks of the
    input and the answer kept in this transaction.
    """
    key = check_submission(reference=reference, paid_on=paid_on, today=india_today(datetime.now(UTC)))
    if answer is not None:
        await answer.claim(db)
    earlier = await live_request(db, account_id, key)
    if earlier is not None:
        raise DuplicateReference.naming(earlier)
    # Told at once rather than at approval (which checks again: the balance may grow meanwhile).
    check_room(await balance_of(db, account_id), to_minor(amount))
    payment_id = str(uuid.uuid4())
    values: dict[str, object] = {
        "id": payment_id,
        "account_id": account_id,
        "amount_minor": to_minor(amount),
        "currency": currency,
        "mode": str(mode),
        "reference": reference,
        "reference_key": key,
        "paid_on": paid_on,
        "bank": bank,
        "note": note,
        "submitted_by": submitted_by,
        "status": str(OfflinePaymentStatus.PENDING_APPROVAL),
        "created_at": datetime.now(UTC),
    }
    if (earlier := await insert_unless_live(db, values, key=key)) is not None:
        # A submission of the same transfer committed meanwhile.
        raise DuplicateReference.naming(earlier)
    submitted = OfflinePaymentSubmitted(
        offline_payment_id=payment_id,
        amount=amount,
        currency=currency,
        mode=str(mode),
        reference=reference,
        paid_on=paid_on,
        bank=bank,
        note=note,
        submitted_by=submitted_by,
    )
    await record_event(db, submitted, account_id=account_id)
    count_after_commit(db, PAYMENTS.labels("billing", "offline", "submitted"))
    recorded = await offline_payment_of(db, payment_id)
    if answer is not None:
        await answer.keep(db, recorded)
    return recorded
