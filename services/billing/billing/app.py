"""The billing service: wallets, payments, offline approvals, orders. Money moves only here."""

from pathlib import Path

from fastapi import FastAPI

from billing.adapters.tables import messaging, metadata
from billing.api import offline_payments, orders, profile, wallet
from billing.handlers import DECISIONS_QUEUE, FINANCE_QUEUE, event_handlers
from billing.settings import BillingSettings
from tollgate_shared.auth_upstream import verify_tokens_with_auth
from tollgate_shared.bus import Bus
from tollgate_shared.bus.inprocess import InProcessBroker
from tollgate_shared.service import Consumers, ServiceDefinition, create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def definition(settings: BillingSettings, consumers: Consumers | None = None) -> ServiceDefinition:
    return ServiceDefinition(
        name="billing",
        metadata=metadata,
        tables=messaging,
        routers=[wallet.router, profile.router, orders.router, offline_payments.router],
        consumers=event_handlers(settings) if consumers is None else consumers,
        api_prefix="/api/billing",
        # The finance approval service reads submissions from a queue billing keeps for it.
        outbound_queues={FINANCE_QUEUE: ("billing.offline_payment.submitted",)},
        trusted_publishers={DECISIONS_QUEUE: settings.finance_broker_user},
        description="Credits, payments, offline approvals and orders.",
    )


def create_app(
    settings: BillingSettings | None = None,
    *,
    broker: InProcessBroker | None = None,
    bus: Bus | None = None,
    consumers: Consumers | None = None,
    instance: str | None = None,
) -> FastAPI:
    settings = settings or BillingSettings()
    return create_service_app(
        definition(settings, consumers),
        settings,
        broker=broker,
        bus=bus,
        instance=instance,
        on_startup=verify_tokens_with_auth,
    )
