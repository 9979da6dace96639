"""The auth service: accounts, users, TOTP, IP rules, sessions, audit log."""

import asyncio
import logging
from pathlib import Path

from fastapi import FastAPI

from auth.adapters.context import AuthContext, build_context
from auth.adapters.tables import messaging, metadata
from auth.adapters.throttle_store import forget_stale_failures
from auth.api import accounts, audit_log, internal, ip_restrictions, login, security, totp, users
from auth.settings import AuthSettings
from tollgate_shared.bus import Bus
from tollgate_shared.bus.inprocess import InProcessBroker
from tollgate_shared.housekeeping import every
from tollgate_shared.lifecycle import Shutdown
from tollgate_shared.service import Runtime, ServiceDefinition, create_service_app

log = logging.getLogger(__name__)
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


KEY_RELOAD_SECONDS = 60
THROTTLE_PURGE_SECONDS = 600


async def reload_keys_periodically(context: AuthContext, runtime: Runtime) -> None:
    """Pick up a rotation made elsewhere (`tollgate auth rotate-keys`, another replica)."""
    while True:
        await asyncio.sleep(KEY_RELOAD_SECONDS)
        try:
            await context.keys.load(runtime.session_factory)
        except Exception:
            log.exception("reloading the signing keys failed; keeping the current ones")


def create_app(
    settings: AuthSettings | None = None,
    *,
    broker: InProcessBroker | None = None,
    bus: Bus | None = None,
    instance: str | None = None,
    shutdown: Shutdown | None = None,
) -> FastAPI:
    settings = settings or AuthSettings()
    context = build_context(settings)

    async def load_keys(app: FastAPI, runtime: Runtime) -> None:
        await context.keys.load(runtime.session_factory)
        app.state.auth = context
        runtime.tasks.append(asyncio.create_task(reload_keys_periodically(context, runtime), name="auth-key-reload"))
        # Failure counts past remembering go (forget_stale_failures).
        every(runtime, THROTTLE_PURGE_SECONDS, forget_stale_failures, name="auth-throttle-purge")

    definition = ServiceDefinition(
        name="auth",
        metadata=metadata,
        tables=messaging,
        routers=ROUTERS,
        consumers={},
        api_prefix="/api/auth",
        description="Accounts, users, two-factor login and IP restrictions.",
    )
    app = create_service_app(
        definition, settings, broker=broker, bus=bus, instance=instance, on_startup=load_keys, shutdown=shutdown
    )
    return app
