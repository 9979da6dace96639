"""The part of Tollgate's event contract this program uses, parsed by hand (docs/asyncapi.yaml).

Money is a decimal string with at most two places, never a float: amounts are
`Decimal`s here and go back out as strings with two places.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

EXCHANGE = "tollgate.events"
SUBMISSIONS_QUEUE = "finance.offline-payments"
SUBMITTED = "billing.offline_payment.submitted"
DECIDED = "finance.offline_payment.decided"
SOURCE = "finance"

MONEY = re.compile(r"^[0-9]+(\.[0-9]{1,2})?$")
CENT = Decimal("0.01")


class NotTheContract(ValueError):
    """A message that is not a submission as the contract describes it; no retry can fix it."""


def parse_money(value: object, *, field: str = "amount") -> Decimal:
    """A positive amount from its decimal string (`"1180.00"`); numbers are refused, as in the API."""
    if not isinstance(value, str) or not MONEY.match(value):
        raise NotTheContract(f'{field} must be a decimal string such as "1180.00"')
    amount = Decimal(value)
    if amount <= 0:
        raise NotTheContract(f"{field} must be greater than zero")
    return amount


def format_money(amount: Decimal) -> str:
    return str(amount.quantize(CENT))


def reference_key(reference: str) -> str:
    """What makes two transfer references one, as billing compares them: letters (upper-cased) and digits.

    Billing refuses a reference with none; should one come, it is compared as it is.
    """
    return re.sub(r"[^0-9A-Za-z]", "", reference).upper() or reference


@dataclass(frozen=True)
class Submission:
    """`billing.offline_payment.submitted`: what a user says they paid, awaiting finance."""

    event_id: str
    account_id: str | None
    offline_payment_id: str
    amount: Decimal
    currency: str
    mode: str
    reference: str
    paid_on: date
    bank: str | None
    note: str | None
    submitted_by: str


def _text(data: dict[str, Any], name: str, *, optional: bool = False) -> Any:
    value = data.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise NotTheContract(f"{name} must be a non-empty string")
    return value


def parse_submission(body: bytes) -> Submission:
    """The submission in `body` (the envelope as JSON), or `NotTheContract`."""
    try:
        envelope = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NotTheContract(f"not JSON: {exc}") from None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("data"), dict):
        raise NotTheContract("not an envelope with a data object")
    if envelope.get("type") != SUBMITTED:
        raise NotTheContract(f"type {envelope.get('type')!r} is not {SUBMITTED}")
    if envelope.get("version", 1) != 1:
        raise NotTheContract(f"version {envelope.get('version')!r} of {SUBMITTED} is unknown here")
    data = envelope["data"]
    try:
        paid_on = date.fromisoformat(_text(data, "paid_on"))
    except ValueError:
        raise NotTheContract("paid_on must be a date (YYYY-MM-DD)") from None
    account_id = envelope.get("account_id")
    return Submission(
        event_id=_text(envelope, "id"),
        account_id=account_id if isinstance(account_id, str) else None,
        offline_payment_id=_text(data, "offline_payment_id"),
        amount=parse_money(data.get("amount")),
        currency=_text(data, "currency"),
        mode=_text(data, "mode").lower(),
        reference=_text(data, "reference"),
        paid_on=paid_on,
        bank=_text(data, "bank", optional=True),
        note=_text(data, "note", optional=True),
        submitted_by=_text(data, "submitted_by"),
    )


@dataclass(frozen=True)
class Decision:
    """`finance.offline_payment.decided`'s data: approve (possibly another amount) or reject with a reason."""

    offline_payment_id: str
    decision: Literal["approve", "reject"]
    decided_by: str
    amount: Decimal | None = None
    reason: str | None = None

    def __post_init__(self) -> None:
        # The rules billing applies; checked here too so we never publish a decision it must park.
        if self.decision == "reject" and not (self.reason or "").strip():
            raise ValueError("a rejection needs a reason")
        if self.amount is not None and self.amount <= 0:
            raise ValueError("the approved amount must be greater than zero")
        if self.amount is not None and self.amount != self.amount.quantize(CENT):
            raise ValueError("the approved amount has at most two decimal places")


def decision_envelope(decision: Decision, *, account_id: str | None) -> dict[str, Any]:
    """A new envelope for `decision`: a fresh event id, version 1, source "finance"."""
    data: dict[str, Any] = {
        "offline_payment_id": decision.offline_payment_id,
        "decision": decision.decision,
        "decided_by": decision.decided_by,
    }
    if decision.amount is not None:
        data["amount"] = format_money(decision.amount)
    if decision.reason:
        data["reason"] = decision.reason.strip()
    return {
        "id": str(uuid.uuid4()),
        "type": DECIDED,
        "version": 1,
        "occurred_at": datetime.now(UTC).isoformat(),
        "source": SOURCE,
        "account_id": account_id,
        "data": data,
    }
