"""Settings for a service in the tests: the defaults every test starts from."""

from __future__ import annotations

from typing import Any

from auth.settings import AuthSettings
from billing.settings import BillingSettings
from gateway.settings import GatewaySettings
from invoicing.settings import InvoicingSettings
from tests.support.harness import (
    TEST_INTERNAL_KEY,
    TEST_RETRY_DELAYS,
    TEST_SECRET_KEY,
)
from tollgate_shared.settings import ServiceSettings

SETTINGS: dict[str, type[ServiceSettings]] = {
    "auth": AuthSettings,
    "billing": BillingSettings,
    "invoicing": InvoicingSettings,
    "gateway": GatewaySettings,
}


def settings_for(service: str, **values: Any) -> Any:
    """Production settings with test secrets (what `tollgate serve` would build)."""
    base: dict[str, Any] = {
        "env": "production",
        "secret_key": TEST_SECRET_KEY,
        "internal_key": TEST_INTERNAL_KEY,
        "bus_retry_delays": ",".join(str(d) for d in TEST_RETRY_DELAYS),
        "outbox_poll_interval": 0.5,
        # Consumers paused for their database resume within 0.5 s of its return, not 5.
        "bus_outage_probe_max_seconds": 0.5,
    }
    if service == "billing":
        base["payment_provider"] = "sandbox"  # production refuses the sandbox unless it is asked for
    return SETTINGS[service](**{**base, **values})
