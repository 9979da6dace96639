"""The auth service: accounts, users, TOTP, IP rules, sessions, audit log."""

from pathlib import Path

from fastapi import FastAPI

from auth.adapters.tables import messaging, metadata
from auth.api import accounts, audit_log, internal, ip_restrictions, login, security, totp, users
from auth.context import build_context
from auth.settings import AuthSettings
from tollgate_shared.bus import Bus
from tollgate_shared.bus.inprocess import InProcessBroker
from tollgate_shared.service import Runtime, ServiceDefinition, create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"
ROUTERS = [
    accounts.router,
    login.router,
    totp.router,
    security.router,
    users.router,
    ip_restrictions.router,
    audit_log.router,
    internal.router,
]


def create_app(
    settings: AuthSettings | None = None,
    *,
    broker: InProcessBroker | None = None,
    bus: Bus | None = None,
    instance: str | None = None,
) -> FastAPI:
    settings = settings or AuthSettings()
    context = build_context(settings)

    async def load_keys(app: FastAPI, runtime: Runtime) -> None:
        await context.keys.load(runtime.session_factory)
        app.state.auth = context

    definition = ServiceDefinition(
        name="auth",
        metadata=metadata,
        tables=messaging,
        routers=ROUTERS,
        consumers={},
        api_prefix="/api/auth",
        description="Accounts, users, two-factor login and IP restrictions.",
    )
    return create_service_app(definition, settings, broker=broker, bus=bus, instance=instance, on_startup=load_keys)
