"""The auth service: accounts, users, TOTP, IP rules, audit log."""

from pathlib import Path

from fastapi import FastAPI

from auth.adapters.tables import messaging, metadata
from auth.api import accounts
from auth.settings import AuthSettings
from tollgate_shared.bus import Bus
from tollgate_shared.bus.inprocess import InProcessBroker
from tollgate_shared.service import ServiceDefinition, create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(
    settings: AuthSettings | None = None,
    *,
    broker: InProcessBroker | None = None,
    bus: Bus | None = None,
    instance: str | None = None,
) -> FastAPI:
    settings = settings or AuthSettings()
    definition = ServiceDefinition(
        name="auth",
        metadata=metadata,
        tables=messaging,
        routers=[accounts.router],
        consumers={},
        api_prefix="/api/auth",
        description="Accounts, users, two-factor login and IP restrictions.",
    )
    return create_service_app(definition, settings, broker=broker, bus=bus, instance=instance)
