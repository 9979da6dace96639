"""Offline payments' rules, with no I/O: their vocabularies, the record of one, what makes two references one
transfer, and what a finance decision means for a request in a given state."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from billing.domain.calendar import india_today as india_today  # the latest "paid on" a transfer may carry
from tollgate_shared.errors import Conflict, DomainError, FieldChecks, InvalidField
from tollgate_shared.events.vocabulary import DecisionKind as DecisionKind
from tollgate_shared.money import format_money, from_minor

_NOT_PART_OF_A_REFERENCE = re.compile(r"[^0-9A-Za-z]")

THANK_YOU = (
    "Thank you. We have received the details of your payment; finance will credit your account "
    "once the amount reaches our bank account and is approved."
)


class OfflinePaymentStatus(StrEnum):
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    REJECTED = "rejected"


# The requests that hold their transfer's reference: submitting it again is a 409 (after a rejection it is free).
LIVE_STATUSES = (OfflinePaymentStatus.PENDING_APPROVAL, OfflinePaymentStatus.APPROVED)


class TransferMode(StrEnum):
    NEFT = "neft"
    RTGS = "rtgs"
    IMPS = "imps"
    CHEQUE = "cheque"
    WIRE = "wire"


@dataclass(frozen=True)
class OfflinePayment:
    id: str
    account_id: str
    amount_minor: int
    currency: str
    mode: TransferMode
    reference: str  # as the user typed it (stripped)
    paid_on: date
    bank: str | None
    note: str | None
    submitted_by: str
    status: OfflinePaymentStatus
    approved_amount_minor: int | None
    reason: str | None
    decided_by: str | None
    decided_at: datetime | None
    created_at: datetime
    # Finance's lists span accounts: the name finance recognises (legal name, else the account's name).
    account_name: str | None = None


@dataclass(frozen=True)
class Ruling:
    """What a decision does to a pending request: approve `amount_minor` or reject, with the reason given."""

    decision: DecisionKind
    amount_minor: int
    reason: str | None


class DuplicateReference(Conflict):
    code, title = "duplicate_reference", "This transfer was already submitted"

    @classmethod
    def naming(cls, earlier: OfflinePayment) -> DuplicateReference:
        """The conflict with `earlier`, the account's live request of the same transfer, named in the problem."""
        state = "is awaiting approval" if earlier.status is OfflinePaymentStatus.PENDING_APPROVAL else "was approved"
        return cls(
            f"Reference {earlier.reference} was submitted on {earlier.created_at.date().isoformat()} as offline "
            f"payment {earlier.id}, which {state}; a transfer is submitted once (again only after a rejection).",
            offline_payment_id=earlier.id,
            offline_payment_status=str(earlier.status),
        )


class AlreadyDecided(Conflict):
    code, title = "already_decided", "This request was already decided"


class OwnSubmission(DomainError):
    status, code, title = 403, "own_submission", "Nobody decides their own submission"


def reference_key(reference: str) -> str:
    """What makes two transfer references one: their letters, upper-cased, and digits.

    UTRs, IMPS reference numbers and cheque numbers are upper-case letters and
    digits; the spaces, dashes and lower case in what users type are copying
    and formatting (`utr-0001 ` is `UTR0001`). Empty when nothing is left.
    Only ASCII letters count, dropped before upper-casing: `"ß".upper()` is
    `"SS"` (a key longer than its reference and its column) and the long s
    (U+017F) upper-cases to `"S"`.
    """
    return _NOT_PART_OF_A_REFERENCE.sub("", reference).upper()


def paid_in_the_future(today: date) -> str:
    """A future "paid on" refused, with the day it is in India (before 05:30 IST the UTC date is yesterday)."""
    return f"must not be in the future (today is {today.isoformat()} in India)"


NO_REFERENCE = "must contain letters or digits"


def check_submission(*, reference: str, paid_on: date, today: date) -> str:
    """A submission's input checked (one 422 naming every wrong field): its reference key."""
    checks = FieldChecks()
    if paid_on > today:
        checks.add("paid_on", paid_in_the_future(today))
    key = reference_key(reference)
    if not key:
        checks.add("reference", NO_REFERENCE)
    checks.raise_if_any()
    return key


def more_than_submitted(submitted_minor: int) -> str:
    return (
        f"must not be more than the {format_money(from_minor(submitted_minor))} submitted: reject it, and the user "
        "submits the transfer again for the amount that arrived"
    )


def rule_on(submitted_minor: int, decision: DecisionKind, *, amount_minor: int | None, reason: str | None) -> Ruling:
    """The rules a decision must follow, whatever the request's state (`InvalidField`, 422, otherwise).

    A rejection needs a reason. An approved amount (by default the submitted
    one) is positive and never more than submitted: what the user told us is
    what they claim, more would credit money nobody accounted for. Another
    amount needs a reason (what arrived, e.g. less bank charges).
    """
    reason = (reason or "").strip() or None
    if decision is DecisionKind.REJECT:
        if reason is None:
            raise InvalidField("reason", "is required to reject")
        return Ruling(decision, 0, reason)
    approved_minor = submitted_minor if amount_minor is None else amount_minor
    if approved_minor <= 0:
        raise InvalidField("amount", "must be greater than zero")
    if approved_minor > submitted_minor:
        raise InvalidField("amount", more_than_submitted(submitted_minor))
    if approved_minor != submitted_minor and reason is None:
        raise InvalidField("reason", "is required when approving another amount than submitted")
    return Ruling(decision, approved_minor, reason)


def judge(
    payment: OfflinePayment, decision: DecisionKind, *, decided_by: str, amount_minor: int | None, reason: str | None
) -> Ruling:
    """What `decided_by`'s decision means for `payment`: the input's rules first (422), then its state (409
    `already_decided` once decided) and who decides (403: nobody decides their own submission)."""
    ruling = rule_on(payment.amount_minor, decision, amount_minor=amount_minor, reason=reason)
    if payment.status is not OfflinePaymentStatus.PENDING_APPROVAL:
        raise AlreadyDecided(f"It was {payment.status}.")
    if decided_by == payment.submitted_by:
        raise OwnSubmission()
    return ruling


# Who a decision billing makes itself is recorded as made by.
BILLING = "billing"


def uncredited_approval(decided_by: str, why: str) -> str:
    """The reason of the rejection billing records when an approval does not fit the balance.

    Finance cannot be answered 409, and a retry or a parked message would leave
    the request pending with nobody told: it is rejected saying why, and the
    user may submit the transfer again once the balance has room.
    """
    return f"Approved by {decided_by} but not credited: {why} Submit it again when it fits."
