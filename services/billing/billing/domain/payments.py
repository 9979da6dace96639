"""What billing needs from a payment provider, whichever one takes the money.

Both providers speak Stripe's vocabulary: a checkout session that is `open`,
`complete` or `expired`, with a `payment_status` of `unpaid` or `paid`, and
webhook events named `checkout.session.*`. The sandbox copies it on purpose,
so one reading of a session serves both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from tollgate_shared.errors import DomainError, InvalidField
from tollgate_shared.events.vocabulary import PaymentStatus as PaymentStatus
from tollgate_shared.money import format_money, from_minor

# The checkout events billing acts on; anything else a provider sends is acknowledged and ignored.
SESSION_EVENTS = frozenset(
    {
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
        "checkout.session.expired",
    }
)


class ProviderUnavailable(DomainError):
    status, code, title = 503, "payment_provider_unavailable", "The payment provider did not answer; try again"


class BadWebhook(DomainError):
    status, code, title = 400, "bad_webhook", "The webhook is not signed by the provider, is stale or is malformed"


@dataclass(frozen=True)
class OnlineLimits:
    """`TOLLGATE_ONLINE_PAYMENT_MIN/MAX` in minor units: every online payment lies between them (DESIGN §10)."""

    min_minor: int
    max_minor: int

    def check(self, amount_minor: int) -> None:
        """A top-up's amount: `InvalidField` on `amount` outside the limits."""
        if amount_minor < self.min_minor:
            raise InvalidField("amount", f"must be at least {_shown(self.min_minor)}")
        if amount_minor > self.max_minor:
            raise InvalidField("amount", f"must be at most {_shown(self.max_minor)}")

    def charge_for_order(self, *, total_minor: int, balance_minor: int) -> int:
        """What paying an order online charges: the shortfall (the total less the balance), 0 when there is none.

        A shortfall below the minimum is charged the minimum (the rest stays as
        credits); one above the maximum is an `InvalidField` on `method` naming it.
        """
        shortfall = total_minor - balance_minor
        if shortfall <= 0:
            return 0
        if shortfall > self.max_minor:
            raise InvalidField(
                "method",
                f"paying online would charge {_shown(shortfall)} (the total, {_shown(total_minor)}, less the "
                f"balance, {_shown(balance_minor)}), more than the largest online payment, {_shown(self.max_minor)}; "
                "add credits first (online up to that amount, or offline), then pay the rest",
            )
        return max(shortfall, self.min_minor)

    def quote_for_order(self, *, total_minor: int, balance_minor: int) -> int | None:
        """What paying the order online would charge now (`charge_for_order`); None when it cannot be paid
        online (the shortfall is above the maximum)."""
        try:
            return self.charge_for_order(total_minor=total_minor, balance_minor=balance_minor)
        except InvalidField:
            return None


def _shown(minor: int) -> str:
    return format_money(from_minor(minor))


@dataclass(frozen=True)
class CheckoutRequest:
    payment_id: str
    account_id: str
    amount_minor: int
    currency: str
    description: str
    success_url: str
    cancel_url: str


@dataclass(frozen=True)
class Checkout:
    """A checkout the provider opened: its id and where to send the payer."""

    session_id: str
    redirect_url: str


@dataclass(frozen=True)
class Outcome:
    """What the provider says about one checkout session."""

    session_id: str
    status: PaymentStatus
    amount_minor: int | None = None
    currency: str | None = None
    # The provider's id of the money movement (a PaymentIntent or charge), for receipts.
    reference: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class Payment:
    """An online payment as recorded."""

    id: str
    account_id: str
    amount_minor: int
    currency: str
    provider: str
    provider_session: str  # the provider's id of the checkout: what recheck asks about
    provider_reference: str | None  # the provider's id of the money movement once paid
    redirect_url: str
    status: PaymentStatus
    failure_reason: str | None
    order_id: str | None  # an online payment of an order: credited, then the order is paid from credits
    created_by: str
    created_at: datetime
    completed_at: datetime | None


class Settlement(StrEnum):
    """What an outcome the provider reports does to a payment."""

    NOTHING = "nothing"  # already succeeded (final), or the provider has no news
    CREDIT = "credit"  # paid: credit the wallet once and mark it succeeded
    MISMATCH = "mismatch"  # paid, but not the amount or currency asked for: not credited
    CLOSE = "close"  # failed or expired while pending


def settlement(payment: Payment, outcome: Outcome) -> Settlement:
    """The payment's state machine: `succeeded` is final; money the provider took counts even after the
    checkout was seen to fail or expire; a failure or expiry only closes a pending payment."""
    if payment.status is PaymentStatus.SUCCEEDED or outcome.status is PaymentStatus.PENDING:
        return Settlement.NOTHING
    if outcome.status is PaymentStatus.SUCCEEDED:
        return Settlement.MISMATCH if differs(payment, outcome) else Settlement.CREDIT
    if payment.status is PaymentStatus.PENDING:
        return Settlement.CLOSE
    return Settlement.NOTHING


def differs(payment: Payment, outcome: Outcome) -> bool:
    """Whether the provider reports another amount or currency than the payment asked for."""
    wrong_amount = outcome.amount_minor is not None and outcome.amount_minor != payment.amount_minor
    wrong_currency = outcome.currency is not None and outcome.currency != payment.currency
    return wrong_amount or wrong_currency


class PaymentProvider(Protocol):
    name: str

    async def create_checkout(self, request: CheckoutRequest) -> Checkout:
        """Open a hosted checkout; the payment id is the idempotency key."""

    async def outcome_of(self, session_id: str) -> Outcome:
        """Ask the provider now (recheck)."""

    def read_webhook(self, payload: bytes, signature: str | None) -> Outcome | None:
        """The outcome a signed webhook reports; None for events billing does not act on. BadWebhook if unsigned."""

    async def close(self) -> None:
        """Release connections."""


def outcome_of_session(
    session: dict[str, Any], event_type: str | None = None, *, reference: str | None = None
) -> Outcome:
    """Read a checkout session (from a webhook event or a retrieve) the way Stripe defines it.

    Money counts only when `payment_status` is `paid` (DESIGN §9): a completed
    session of a delayed method is still pending until its async event arrives.
    """
    if event_type == "checkout.session.async_payment_failed":
        status = PaymentStatus.FAILED
    elif session.get("payment_status") == "paid":
        status = PaymentStatus.SUCCEEDED
    elif event_type == "checkout.session.expired" or session.get("status") == "expired":
        status = PaymentStatus.EXPIRED
    else:
        status = PaymentStatus.PENDING
    amount = session.get("amount_total")
    currency = session.get("currency")
    return Outcome(
        session_id=str(session["id"]),
        status=status,
        amount_minor=int(amount) if amount is not None else None,
        currency=str(currency).upper() if currency else None,
        reference=reference or _text(session.get("payment_intent")),
        reason="the payment failed at the provider" if status is PaymentStatus.FAILED else "",
    )


def _text(value: Any) -> str | None:
    if isinstance(value, dict):  # an expanded object
        value = value.get("id")
    return str(value) if value else None
