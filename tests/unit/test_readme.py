"""The README documents every setting the services read, and nothing they don't."""

from __future__ import annotations

import re
from pathlib import Path

from auth.settings import AuthSettings
from billing.settings import BillingSettings
from gateway.settings import GatewaySettings
from invoicing.settings import InvoicingSettings
from tollgate_shared.settings import ServiceSettings

README = (Path(__file__).parents[2] / "README.md").read_text()
SETTINGS: tuple[type[ServiceSettings], ...] = (AuthSettings, BillingSettings, InvoicingSettings, GatewaySettings)


def documented() -> set[str]:
    table = README[README.index("## Settings") : README.index("## Architecture")]
    return set(re.findall(r"`(TOLLGATE_[A-Z_]+)`", table))


def read_by_services() -> set[str]:
    names = {"TOLLGATE_TEST_DATABASE_URL", "TOLLGATE_TEST_AMQP_URL"}
    for settings in SETTINGS:
        for field in settings.model_fields:
            if field == "database_url":
                names.add(f"TOLLGATE_{settings.service_name.upper()}_DATABASE_URL")
            else:
                names.add(f"TOLLGATE_{field.upper()}")
    names.discard("TOLLGATE_GATEWAY_DATABASE_URL")  # the gateway has no database
    return names


def test_every_setting_is_in_the_readme_table() -> None:
    assert read_by_services() - documented() == set()


def test_the_readme_table_names_no_setting_that_does_not_exist() -> None:
    assert documented() - read_by_services() == set()


def test_readme_starts_with_the_two_commands() -> None:
    head = README[: README.index("## Every routine task")]
    assert "make dev" in head and "make test" in head
