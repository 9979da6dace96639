"""The billing service: wallets, payments, offline approvals, orders. Money moves only here."""

import hashlib
import hmac
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing.adapters.account_gate import AccountGate
from billing.adapters.sandbox_provider import SandboxProvider
from billing.adapters.stripe_provider import StripeProvider
from billing.adapters.tables import messaging, metadata
from billing.api import forecast, offline_payments, orders, payments, profile, sandbox, wallet
from billing.api.idempotency import install_replay
from billing.domain.payments import PaymentProvider
from billing.handlers import DECISIONS_QUEUE, OUTBOUND_QUEUES, event_handlers
from billing.settings import BillingSettings
from billing.use_cases.idempotency import forget_expired_keys
from billing.use_cases.read_offline_payments import read_pending_gauge
from tollgate_shared.auth_upstream import follow_revocations
from tollgate_shared.bus import Bus
from tollgate_shared.bus.inprocess import InProcessBroker
from tollgate_shared.housekeeping import every
from tollgate_shared.lifecycle import Shutdown
from tollgate_shared.service import Consumers, ServiceDefinition, create_service_app
from tollgate_shared.settings import SettingsError

MIGRATIONS = Path(__file__).parent / "migrations"
KEY_PURGE_SECONDS = 600


def definition(settings: BillingSettings, consumers: Consumers | None = None) -> ServiceDefinition:
    return ServiceDefinition(
        name="billing",
        metadata=metadata,
        tables=messaging,
        routers=[
            wallet.router,
            forecast.router,
            profile.router,
            orders.router,
            payments.router,
            offline_payments.router,
            sandbox.router,
        ],
        consumers=event_handlers(settings) if consumers is None else consumers,
        api_prefix="/api/billing",
        outbound_queues=OUTBOUND_QUEUES,
        trusted_publishers={DECISIONS_QUEUE: settings.finance_broker_user},
        database_gauges={"offline-payments-pending": read_pending_gauge},
        description="Credits, payments, offline approvals and orders.",
    )


def create_app(
    settings: BillingSettings | None = None,
    *,
    broker: InProcessBroker | None = None,
    bus: Bus | None = None,
    consumers: Consumers | None = None,
    instance: str | None = None,
    shutdown: Shutdown | None = None,
) -> FastAPI:
    settings = settings or BillingSettings()
    app = create_service_app(
        definition(settings, consumers),
        settings,
        broker=broker,
        bus=bus,
        instance=instance,
        on_startup=start_billing,
        shutdown=shutdown,
    )
    install_replay(app)
    return app


async def start_billing(app: FastAPI, runtime: Any) -> None:
    await follow_revocations(app, runtime)
    # Idempotency keys past their 24 hours go.
    every(runtime, KEY_PURGE_SECONDS, forget_expired_keys, name="billing-idempotency-key-purge")
    app.state.account_gate = AccountGate(runtime.settings.orders_per_account_at_once)
    provider = payment_provider(runtime.settings, runtime.session_factory)
    app.state.payment_provider = provider
    runtime.cleanups.append(provider.close)


def payment_provider(settings: BillingSettings, sessions: async_sessionmaker[AsyncSession]) -> PaymentProvider:
    """Stripe when configured, else the sandbox (production only when asked for explicitly)."""
    problem = settings.payment_provider_problem()
    if problem is not None:
        raise SettingsError(problem)
    if settings.effective_payment_provider == "stripe":
        assert settings.stripe_secret_key is not None and settings.stripe_webhook_secret is not None
        return StripeProvider(
            secret_key=settings.stripe_secret_key.get_secret_value(),
            webhook_secret=settings.stripe_webhook_secret.get_secret_value(),
            api_base=settings.stripe_api_base,
            webhook_tolerance=settings.stripe_webhook_tolerance,
        )
    return SandboxProvider(
        sessions, webhook_secret=sandbox_webhook_secret(settings), tolerance=settings.stripe_webhook_tolerance
    )


def sandbox_webhook_secret(settings: BillingSettings) -> str:
    """The sandbox signs its notifications with a key of its own, derived from the platform's secret."""
    return hmac.new(settings.secret_key.get_secret_value().encode(), b"sandbox webhooks", hashlib.sha256).hexdigest()
