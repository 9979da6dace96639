"""What a decision means for an offline payment in a given state, and what a submission must say."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from billing.domain.offline_payments import (
    AlreadyDecided,
    DecisionKind,
    DuplicateReference,
    OfflinePayment,
    OfflinePaymentStatus,
    OwnSubmission,
    TransferMode,
    check_submission,
    india_today,
    judge,
    uncredited_approval,
)
from tollgate_shared.errors import DomainError, InvalidField, InvalidFields

PENDING = OfflinePayment(
    id="p-1",
    account_id="a-1",
    amount_minor=5000_00,
    currency="INR",
    mode=TransferMode.NEFT,
    reference="UTR-0001",
    paid_on=date(2026, 5, 10),
    bank=None,
    note=None,
    submitted_by="u-1",
    status=OfflinePaymentStatus.PENDING_APPROVAL,
    approved_amount_minor=None,
    reason=None,
    decided_by=None,
    decided_at=None,
    created_at=datetime(2026, 5, 10, 9, 30, tzinfo=UTC),
)


def field_of(error: InvalidFields) -> str:
    return str(error.extensions["errors"][0]["field"])


def test_a_pending_payment_is_approved_for_the_submitted_amount_by_default() -> None:
    ruling = judge(PENDING, DecisionKind.APPROVE, decided_by="finance-1", amount_minor=None, reason=None)
    assert (ruling.decision, ruling.amount_minor, ruling.reason) == (DecisionKind.APPROVE, 5000_00, None)


def test_a_rejection_keeps_its_reason_stripped() -> None:
    ruling = judge(PENDING, DecisionKind.REJECT, decided_by="finance-1", amount_minor=None, reason="  no transfer ")
    assert (ruling.decision, ruling.reason) == (DecisionKind.REJECT, "no transfer")


@pytest.mark.parametrize("status", [OfflinePaymentStatus.APPROVED, OfflinePaymentStatus.REJECTED])
def test_a_decided_payment_is_not_decided_again(status: OfflinePaymentStatus) -> None:
    decided = replace(PENDING, status=status)
    with pytest.raises(AlreadyDecided, match=f"It was {status.value}"):
        judge(decided, DecisionKind.APPROVE, decided_by="finance-1", amount_minor=None, reason=None)


def test_the_input_is_refused_before_the_state_is_looked_at() -> None:
    # Validation (422) before conflicts (409): a decided payment still names the field.
    decided = replace(PENDING, status=OfflinePaymentStatus.APPROVED)
    with pytest.raises(InvalidField) as refused:
        judge(decided, DecisionKind.REJECT, decided_by="finance-1", amount_minor=None, reason=None)
    assert field_of(refused.value) == "reason"


def test_nobody_decides_their_own_submission() -> None:
    with pytest.raises(OwnSubmission):
        judge(PENDING, DecisionKind.APPROVE, decided_by="u-1", amount_minor=None, reason=None)


def test_approving_more_than_submitted_says_to_reject_and_submit_again() -> None:
    with pytest.raises(InvalidField) as refused:
        judge(PENDING, DecisionKind.APPROVE, decided_by="finance-1", amount_minor=5000_01, reason="more arrived")
    message = refused.value.extensions["errors"][0]["message"]
    assert message.startswith("must not be more than the 5000.00 submitted: reject it, and the user submits")


def test_an_approval_with_no_room_in_the_balance_becomes_a_rejection_saying_why() -> None:
    reason = uncredited_approval("finance-rules", "Crediting 5.00 would take the balance past the largest.")
    assert reason == (
        "Approved by finance-rules but not credited: Crediting 5.00 would take the balance past the largest. "
        "Submit it again when it fits."
    )


def test_a_submission_needs_letters_or_digits_in_its_reference_and_a_date_not_in_the_future() -> None:
    today = date(2026, 5, 10)
    assert check_submission(reference="utr-0001 ", paid_on=today, today=today) == "UTR0001"
    with pytest.raises(InvalidFields) as no_reference:
        check_submission(reference="- / -", paid_on=today, today=today)
    assert field_of(no_reference.value) == "reference"
    with pytest.raises(InvalidFields) as tomorrow:
        check_submission(reference="UTR0001", paid_on=date(2026, 5, 11), today=today)
    assert field_of(tomorrow.value) == "paid_on"


def test_a_duplicate_names_the_earlier_request_and_its_state() -> None:
    conflict = DuplicateReference.naming(PENDING)
    assert conflict.extensions == {"offline_payment_id": "p-1", "offline_payment_status": "pending_approval"}
    assert "submitted on 2026-05-10 as offline payment p-1, which is awaiting approval" in str(conflict.detail)


def test_a_transfer_is_dated_by_indias_calendar() -> None:
    late_evening_utc = datetime(2026, 3, 31, 19, 0, tzinfo=UTC)  # 00:30 on 1 April in India
    assert india_today(late_evening_utc) == date(2026, 4, 1)
    assert india_today(datetime(2026, 4, 1, 18, 29, tzinfo=UTC)) == date(2026, 4, 1)  # 23:59 in India
    check_submission(reference="UTR1", paid_on=date(2026, 4, 1), today=india_today(late_evening_utc))
    with pytest.raises(DomainError) as future:
        check_submission(reference="UTR1", paid_on=date(2026, 4, 2), today=date(2026, 4, 1))
    [error] = future.value.extensions["errors"]
    assert error["field"] == "paid_on" and "today is 2026-04-01 in India" in error["message"]
