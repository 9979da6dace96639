"""Choosing the payment provider, and reading a checkout session the way Stripe defines it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from billing.adapters.sandbox_provider import SandboxProvider
from billing.adapters.stripe_provider import StripeProvider
from billing.app import payment_provider
from billing.domain.payments import outcome_of_session
from billing.settings import BillingSettings
from tollgate_shared.settings import SettingsError

SECRETS = {"secret_key": "a-real-secret-key-0123456789", "internal_key": "a-real-internal-key-0123456789"}
SESSIONS: Any = async_sessionmaker()


def settings(**values: Any) -> BillingSettings:
    return BillingSettings(**{**SECRETS, **values})


def test_production_refuses_the_sandbox_unless_it_is_asked_for() -> None:
    with pytest.raises(SettingsError, match="TOLLGATE_PAYMENT_PROVIDER=sandbox"):
        payment_provider(settings(), SESSIONS)
    assert isinstance(payment_provider(settings(payment_provider="sandbox"), SESSIONS), SandboxProvider)
    assert isinstance(payment_provider(settings(env="development"), SESSIONS), SandboxProvider)


@pytest.mark.parametrize(
    "values",
    [
        {"stripe_secret_key": "sk_test_1"},
        {"payment_provider": "stripe"},
        {"stripe_secret_key": "sk_test_1", "stripe_webhook_secret": " "},
    ],
)
def test_stripe_needs_both_of_its_secrets(values: dict[str, Any]) -> None:
    with pytest.raises(SettingsError, match="TOLLGATE_STRIPE_WEBHOOK_SECRET"):
        payment_provider(settings(**values), SESSIONS)


async def test_a_stripe_key_chooses_stripe() -> None:
    provider = payment_provider(settings(stripe_secret_key="sk_test_1", stripe_webhook_secret="whsec_1"), SESSIONS)
    assert isinstance(provider, StripeProvider)
    await provider.close()


def test_limits_must_make_sense() -> None:
    with pytest.raises(ValueError, match="ONLINE_PAYMENT_MIN"):
        settings(online_payment_min="500.00", online_payment_max="100.00")


SESSION = {"id": "cs_1", "amount_total": 50000, "currency": "inr", "payment_intent": "pi_1"}


@pytest.mark.parametrize(
    ("fields", "event", "status"),
    [
        ({"status": "complete", "payment_status": "paid"}, "checkout.session.completed", "succeeded"),
        # A delayed method: complete but not paid yet — money counts only once paid.
        ({"status": "complete", "payment_status": "unpaid"}, "checkout.session.completed", "pending"),
        ({"status": "complete", "payment_status": "paid"}, "checkout.session.async_payment_succeeded", "succeeded"),
        ({"status": "complete", "payment_status": "unpaid"}, "checkout.session.async_payment_failed", "failed"),
        ({"status": "expired", "payment_status": "unpaid"}, "checkout.session.expired", "expired"),
        ({"status": "expired", "payment_status": "unpaid"}, None, "expired"),
        ({"status": "open", "payment_status": "unpaid"}, None, "pending"),
    ],
)
def test_a_session_is_read_as_stripe_defines_it(fields: dict[str, str], event: str | None, status: str) -> None:
    outcome = outcome_of_session({**SESSION, **fields}, event)
    assert outcome.status == status
    assert (outcome.session_id, outcome.amount_minor, outcome.currency, outcome.reference) == (
        "cs_1",
        50000,
        "INR",
        "pi_1",
    )
