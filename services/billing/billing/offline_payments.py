"""Offline top-ups: submitted by users, decided by finance once, credited on approval.

Both ways finance decides — the finance approval service's event and the
staff API — go through `decide`, so the rules hold whichever way arrives.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from billing.adapters.tables import LIVE, offline_payment
from billing.domain.ledger import check_room
from billing.domain.offline_payments import reference_key
from billing.idempotency import KeepsAnswer
from billing.ledger import apply_to_wallet, balance_of
from billing.profiles import buyer_of
from billing.settings import BillingSettings
from tollgate_shared.errors import Conflict, DomainError, InvalidField, NotFound
from tollgate_shared.events.models import OfflinePaymentApproved, OfflinePaymentRejected, OfflinePaymentSubmitted
from tollgate_shared.metrics.catalogue import OFFLINE_PAYMENTS_OLDEST_PENDING, OFFLINE_PAYMENTS_PENDING, PAYMENTS
from tollgate_shared.metrics.counting import count_after_commit
from tollgate_shared.money import format_money, from_minor, to_minor
from tollgate_shared.outbox import record_event

THANK_YOU = (
    "Thank you. We have received the details of your payment; finance will credit your account "
    "once the amount reaches our bank account and is approved."
)


def more_than_submitted(submitted: Decimal) -> str:
    return (
        f"must not be more than the {format_money(submitted)} submitted: reject it, and the user submits "
        "the transfer again for the amount that arrived"
    )


class DuplicateReference(Conflict):
    code, title = "duplicate_reference", "This transfer was already submitted"

    @classmethod
    def naming(cls, earlier: Any) -> DuplicateReference:
        """The conflict with `earlier`, the account's live request of the same transfer, named in the problem."""
        state = "is awaiting approval" if earlier.status == "pending_approval" else "was approved"
        return cls(
            f"Reference {earlier.reference} was submitted on {earlier.created_at.date().isoformat()} as offline "
            f"payment {earlier.id}, which {state}; a transfer is submitted once (again only after a rejection).",
            offline_payment_id=earlier.id,
            offline_payment_status=earlier.status,
        )


class AlreadyDecided(Conflict):
    code, title = "already_decided", "This request was already decided"


class OwnSubmission(DomainError):
    status, code, title = 403, "own_submission", "Nobody decides their own submission"


async def submit(
    db: AsyncSession,
    *,
    account_id: str,
    submitted_by: str,
    amount: Decimal,
    mode: str,
    reference: str,
    paid_on: date,
    bank: str | None,
    note: str | None,
    settings: BillingSettings,
    answer: KeepsAnswer[Any] | None = None,
) -> Any:
    """Record a pending request and announce it to finance, once per transfer (`DuplicateReference` otherwise).

    With `answer` (an `Idempotency-Key`), the key is claimed after the checks of the
    input and the answer kept in this transaction.
    """
    if paid_on > datetime.now(UTC).date():
        raise InvalidField("paid_on", "must not be in the future")
    key = reference_key(reference)
    if not key:
        raise InvalidField("reference", "must contain letters or digits")
    if answer is not None:
        await answer.claim(db)
    earlier = await _live_request(db, account_id, key)
    if earlier is not None:
        raise DuplicateReference.naming(earlier)
    # Told at once rather than at approval (which checks again: the balance may grow meanwhile).
    check_room(await balance_of(db, account_id), to_minor(amount))
    payment_id = str(uuid.uuid4())
    values = {
        "id": payment_id,
        "account_id": account_id,
        "amount_minor": to_minor(amount),
        "currency": settings.currency,
        "mode": mode,
        "reference": reference,
        "reference_key": key,
        "paid_on": paid_on,
        "bank": bank,
        "note": note,
        "submitted_by": submitted_by,
        "status": "pending_approval",
        "created_at": datetime.now(UTC),
    }
    try:
        async with db.begin_nested():
            await db.execute(offline_payment.insert().values(**values))
    except IntegrityError:
        # A submission of the same transfer committed meanwhile (the insert waited for it).
        earlier = await _live_request(db, account_id, key)
        if earlier is None:
            raise
        raise DuplicateReference.naming(earlier) from None
    submitted = OfflinePaymentSubmitted(
        offline_payment_id=payment_id,
        amount=amount,
        currency=settings.currency,
        mode=mode,
        reference=reference,
        paid_on=paid_on,
        bank=bank,
        note=note,
        submitted_by=submitted_by,
    )
    await record_event(db, submitted, account_id=account_id)
    count_after_commit(db, PAYMENTS.labels("billing", "offline", "submitted"))
    row = await find(db, payment_id)
    if answer is not None:
        await answer.keep(db, row)
    return row


async def _live_request(db: AsyncSession, account_id: str, key: str) -> Any | None:
    """The account's pending or approved request of the transfer with this reference key, if any."""
    query = select(offline_payment).where(
        offline_payment.c.account_id == account_id, offline_payment.c.reference_key == key, LIVE
    )
    return (await db.execute(query)).first()


async def find(db: AsyncSession, payment_id: str, *, account_id: str | None = None, lock: bool = False) -> Any:
    query = select(offline_payment).where(offline_payment.c.id == payment_id)
    if account_id is not None:
        query = query.where(offline_payment.c.account_id == account_id)
    row = (await db.execute(query.with_for_update() if lock else query)).first()
    if row is None:
        raise NotFound("No such offline payment.")
    return row


async def decide(
    db: AsyncSession,
    *,
    payment_id: str,
    decision: str,
    decided_by: str,
    amount: Decimal | None,
    reason: str | None,
    settings: BillingSettings,
) -> Any:
    """Approve (crediting `amount`, by default the submitted one) or reject (with a reason), once.

    An approved amount is positive and never more than the submitted one; a
    smaller one needs a reason (what arrived, e.g. less bank charges).

    An approval the balance has no room for raises `BalanceLimit` (409) before anything is written.
    """
    row = await find(db, payment_id, lock=True)
    reason = (reason or "").strip() or None
    # Validation (422) before conflicts (409).
    if decision == "reject" and reason is None:
        raise InvalidField("reason", "is required to reject")
    approved_minor = to_minor(amount) if amount is not None else int(row.amount_minor)
    if decision == "approve" and approved_minor <= 0:
        raise InvalidField("amount", "must be greater than zero")
    if decision == "approve" and approved_minor > row.amount_minor:
        # What the user told us is what they claim; more would credit money nobody accounted for.
        raise InvalidField("amount", more_than_submitted(from_minor(row.amount_minor)))
    if decision == "approve" and approved_minor != row.amount_minor and reason is None:
        raise InvalidField("reason", "is required when approving another amount than submitted")
    if row.status != "pending_approval":
        raise AlreadyDecided(f"It was {row.status}.")
    if decided_by == row.submitted_by:
        raise OwnSubmission()
    now = datetime.now(UTC)
    if decision == "reject":
        await db.execute(
            update(offline_payment)
            .where(offline_payment.c.id == payment_id)
            .values(status="rejected", reason=reason, decided_by=decided_by, decided_at=now)
        )
        assert reason is not None
        rejected = OfflinePaymentRejected(offline_payment_id=payment_id, reason=reason, rejected_by=decided_by)
        await record_event(db, rejected, account_id=row.account_id)
        count_after_commit(db, PAYMENTS.labels("billing", "offline", "rejected"))
        return await find(db, payment_id)
    # The money first: a balance with no room for it refuses before anything is written.
    await apply_to_wallet(
        db,
        account_id=row.account_id,
        kind="offline_payment",
        reference=payment_id,
        amount_minor=approved_minor,
        currency=row.currency,
    )
    await db.execute(
        update(offline_payment)
        .where(offline_payment.c.id == payment_id)
        .values(
            status="approved",
            approved_amount_minor=approved_minor,
            reason=reason,
            decided_by=decided_by,
            decided_at=now,
        )
    )
    buyer, _ = await buyer_of(db, row.account_id, settings)
    approved = OfflinePaymentApproved(
        offline_payment_id=payment_id,
        amount=from_minor(approved_minor),
        currency=row.currency,
        mode=row.mode,
        reference=row.reference,
        paid_on=row.paid_on,
        bank=row.bank,
        approved_by=decided_by,
        buyer=buyer,
    )
    await record_event(db, approved, account_id=row.account_id)
    count_after_commit(db, PAYMENTS.labels("billing", "offline", "approved"))
    return await find(db, payment_id)


async def read_pending_gauge(db: AsyncSession) -> None:
    """`tollgate_offline_payments_pending` and `…_oldest_pending_seconds`: requests awaiting finance and how
    long the oldest has waited (one statement on the index of status and creation time)."""
    query = select(func.count(), func.min(offline_payment.c.created_at)).where(
        offline_payment.c.status == "pending_approval"
    )
    count, oldest = (await db.execute(query)).one()
    OFFLINE_PAYMENTS_PENDING.labels("billing").set(count or 0)
    waited = 0.0 if oldest is None else max(0.0, (datetime.now(UTC) - oldest).total_seconds())
    OFFLINE_PAYMENTS_OLDEST_PENDING.labels("billing").set(waited)
