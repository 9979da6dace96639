"""The online payment's state machine: what a provider's outcome does to a payment."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from billing.domain.payments import OnlineLimits, Outcome, Payment, PaymentStatus, Settlement, settlement

PAYMENT = Payment(
    id="pay-1",
    account_id="a-1",
    amount_minor=500_00,
    currency="INR",
    provider="sandbox",
    provider_session="cs_1",
    provider_reference=None,
    redirect_url="/sandbox/checkout/t",
    status=PaymentStatus.PENDING,
    failure_reason=None,
    order_id=None,
    created_by="u-1",
    created_at=datetime(2026, 5, 10, tzinfo=UTC),
    completed_at=None,
)
S, P, F, E = PaymentStatus.SUCCEEDED, PaymentStatus.PENDING, PaymentStatus.FAILED, PaymentStatus.EXPIRED


@pytest.mark.parametrize(
    ("status", "reported", "then"),
    [
        (P, P, Settlement.NOTHING),  # no news yet
        (P, S, Settlement.CREDIT),
        (P, F, Settlement.CLOSE),
        (P, E, Settlement.CLOSE),
        (F, S, Settlement.CREDIT),  # the money was taken after all: it counts
        (E, S, Settlement.CREDIT),
        (F, E, Settlement.NOTHING),  # closed stays closed
        (E, F, Settlement.NOTHING),
        (S, S, Settlement.NOTHING),  # succeeded is final: credited once
        (S, F, Settlement.NOTHING),
        (S, E, Settlement.NOTHING),
    ],
)
def test_a_provider_outcome_moves_a_payment_only_as_the_state_machine_allows(
    status: PaymentStatus, reported: PaymentStatus, then: Settlement
) -> None:
    assert settlement(replace(PAYMENT, status=status), Outcome("cs_1", reported)) is then


def test_a_paid_outcome_of_another_amount_or_currency_is_not_credited() -> None:
    assert settlement(PAYMENT, Outcome("cs_1", S, amount_minor=500_01)) is Settlement.MISMATCH
    assert settlement(PAYMENT, Outcome("cs_1", S, currency="USD")) is Settlement.MISMATCH
    assert settlement(PAYMENT, Outcome("cs_1", S, amount_minor=500_00, currency="INR")) is Settlement.CREDIT


def test_paying_an_order_online_is_quoted_as_the_shortfall_within_the_limits() -> None:
    limits = OnlineLimits(min_minor=100_00, max_minor=1000_00)
    assert limits.quote_for_order(total_minor=1180_00, balance_minor=500_00) == 680_00
    assert limits.quote_for_order(total_minor=1180_00, balance_minor=1100_00) == 100_00  # the smallest payment
    assert limits.quote_for_order(total_minor=1180_00, balance_minor=2000_00) == 0  # the credits cover it
    assert limits.quote_for_order(total_minor=1180_00, balance_minor=0) is None  # above the largest
