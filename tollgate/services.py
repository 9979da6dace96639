"""The registry of Tollgate's services: how to build, configure and migrate each.

Only the settings classes are imported here. A service's app (FastAPI, its routes,
its adapters: most of a second of imports each) is imported when it is built, and
its event handlers when its queues are listed, so a command reads and checks its
settings before any of that: a configuration mistake is told at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from auth.settings import AuthSettings
from billing.settings import BillingSettings
from gateway.settings import GatewaySettings
from invoicing.settings import InvoicingSettings
from tollgate_shared.settings import ServiceSettings, SettingsError


@dataclass(frozen=True)
class ServiceEntry:
    name: str
    settings: type[ServiceSettings]
    migrations: Path | None
    # Work queues the service consumes; `tollgate dlq` looks at their dead letters.
    queues: Callable[[], list[str]]
    # What the settings validate alone but the service would only find out while starting.
    startup_problem: Callable[[Any], str | None] = lambda settings: None

    @property
    def create_app(self) -> Callable[..., Any]:
        """The service's `create_app` (its `<name>.app` module, imported now)."""
        create: Callable[..., Any] = import_module(f"{self.name}.app").create_app
        return create


def _migrations(package: str) -> Path:
    """`<package>/migrations`, found without importing the package's modules."""
    spec = find_spec(package)
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "migrations"


def _queues(
    handlers_module: str, settings: type[ServiceSettings], outbound: Callable[[Any], tuple[str, ...]] = lambda _: ()
) -> Callable[[], list[str]]:
    def queues() -> list[str]:
        handlers = import_module(handlers_module)
        return [*handlers.event_handlers(settings.model_construct()), *outbound(handlers)]

    return queues


SERVICES: dict[str, ServiceEntry] = {
    "auth": ServiceEntry("auth", AuthSettings, _migrations("auth"), lambda: []),
    "billing": ServiceEntry(
        "billing",
        BillingSettings,
        _migrations("billing"),
        # The finance service's queue is declared by billing: its dead letters are billing's to show.
        _queues("billing.handlers", BillingSettings, lambda handlers: (handlers.FINANCE_QUEUE,)),
        startup_problem=lambda settings: settings.payment_provider_problem(),
    ),
    "invoicing": ServiceEntry(
        "invoicing", InvoicingSettings, _migrations("invoicing"), _queues("invoicing.handlers", InvoicingSettings)
    ),
    "gateway": ServiceEntry("gateway", GatewaySettings, None, lambda: []),
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
