"""What the deployment files' tests share: the services, their settings classes, docker-compose.yml.

tests/unit/test_deploy_files.py holds Compose, the Dockerfile and deploy/observability to
these; tests/unit/test_kubernetes.py holds deploy/kubernetes to them.
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from auth.settings import AuthSettings
from billing.settings import BillingSettings
from gateway.settings import GatewaySettings
from invoicing.settings import InvoicingSettings
from tollgate_shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
INIT_SQL = ROOT / "deploy" / "postgres" / "init-databases.sql"

SETTINGS: dict[str, type[ServiceSettings]] = {
    "auth": AuthSettings,
    "billing": BillingSettings,
    "invoicing": InvoicingSettings,
    "gateway": GatewaySettings,
}
BACKENDS = ("auth", "billing", "invoicing")
TOLLGATE_SERVICES = (*BACKENDS, "gateway")
# Every process serves its metrics there (TOLLGATE_METRICS_PORT, DESIGN.md §10);
# under `tollgate stack`, from there on, one port per process in the plan's order.
METRICS_PORT = 9464
SHARED_SETTINGS = ("TOLLGATE_ENV", "TOLLGATE_SECRET_KEY", "TOLLGATE_INTERNAL_KEY", "TOLLGATE_AMQP_URL")
UPSTREAM_SETTINGS = ("TOLLGATE_AUTH_URL", "TOLLGATE_BILLING_URL", "TOLLGATE_INVOICING_URL")


# Time between the process's exit deadline and the kill, for the interpreter and the
# container runtime to finish; and the least preStop sleep that lets endpoint removal
# reach kube-proxy and the Ingress before the process stops accepting.
SHUTDOWN_MARGIN_SECONDS = 5
LEAST_PRE_STOP_SECONDS = 5


def settings_names(service: str) -> set[str]:
    """Every environment variable the service's settings class reads."""
    fields = {f"TOLLGATE_{field.upper()}" for field in SETTINGS[service].model_fields}
    return fields | {f"TOLLGATE_{service.upper()}_DATABASE_URL"}


def build_settings(service: str, environment: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> ServiceSettings:
    """The service's settings, built from exactly this environment."""
    for name in [name for name in os.environ if name.startswith(("TOLLGATE_", "OTEL_"))]:
        monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return SETTINGS[service]()


@cache
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


def service(name: str) -> dict[str, Any]:
    services: dict[str, dict[str, Any]] = compose()["services"]
    assert name in services, f"docker-compose.yml has no service {name!r}"
    return services[name]


def created_databases() -> dict[str, str]:
    """Database -> owner, as the init script creates them."""
    sql = INIT_SQL.read_text()
    return dict(re.findall(r"^CREATE DATABASE (\w+) OWNER (\w+);", sql, re.MULTILINE))
