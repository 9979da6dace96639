"""The registry of Tollgate's services: how to build, configure and migrate each."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import auth.app
import billing.app
import gateway.app
import invoicing.app
from auth.settings import AuthSettings
from billing.handlers import FINANCE_QUEUE
from billing.handlers import event_handlers as billing_handlers
from billing.settings import BillingSettings
from gateway.settings import GatewaySettings
from invoicing.handlers import event_handlers as invoicing_handlers
from invoicing.settings import InvoicingSettings
from tollgate_shared.settings import ServiceSettings, SettingsError


@dataclass(frozen=True)
class ServiceEntry:
    name: str
    create_app: Callable[..., Any]
    settings: type[ServiceSettings]
    migrations: Path | None
    # Work queues the service consumes; `tollgate dlq` looks at their dead letters.
    queues: Callable[[], list[str]]
    # What the settings validate alone but the service would only find out while starting.
    startup_problem: Callable[[Any], str | None] = lambda settings: None


def _queues(
    handlers: Callable[[Any], Any], settings: type[ServiceSettings], outbound: tuple[str, ...] = ()
) -> Callable[[], list[str]]:
    return lambda: [*handlers(settings.model_construct()), *outbound]


SERVICES: dict[str, ServiceEntry] = {
    "auth": ServiceEntry("auth", auth.app.create_app, AuthSettings, auth.app.MIGRATIONS, lambda: []),
    "billing": ServiceEntry(
        "billing",
        billing.app.create_app,
        BillingSettings,
        billing.app.MIGRATIONS,
        # The finance service's queue is declared by billing: its dead letters are billing's to show.
        _queues(billing_handlers, BillingSettings, (FINANCE_QUEUE,)),
        startup_problem=lambda settings: settings.payment_provider_problem(),
    ),
    "invoicing": ServiceEntry(
        "invoicing",
        invoicing.app.create_app,
        InvoicingSettings,
        invoicing.app.MIGRATIONS,
        _queues(invoicing_handlers, InvoicingSettings),
    ),
    "gateway": ServiceEntry("gateway", gateway.app.create_app, GatewaySettings, None, lambda: []),
}
BACKEND_SERVICES = ("auth", "billing", "invoicing")


def startup_settings(name: str, **overrides: Any) -> ServiceSettings:
    """The settings `name` would start with; `SettingsError` (what to set) before anything starts."""
    entry = SERVICES[name]
    settings = entry.settings(**overrides)
    problem = entry.startup_problem(settings)
    if problem is not None:
        raise SettingsError(f"{name} settings: {problem}")
    return settings


def all_queues() -> list[str]:
    return [queue for entry in SERVICES.values() for queue in entry.queues()]
