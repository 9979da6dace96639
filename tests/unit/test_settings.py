"""Settings come from TOLLGATE_* variables; production refuses placeholder secrets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from billing.settings import BillingSettings
from gateway.settings import GatewaySettings
from tollgate_shared.settings import ServiceSettings, SettingsError, configuration_problem

REAL_SECRET = "k3Yq9-real-secret-0f-production"
REAL_INTERNAL = "internal-8d1c-real-key"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No TOLLGATE_* variable of the real environment leaks into a test."""
    for name in list(os.environ):
        if name.upper().startswith("TOLLGATE_"):
            monkeypatch.delenv(name)
    return monkeypatch


def production_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOLLGATE_SECRET_KEY", REAL_SECRET)
    monkeypatch.setenv("TOLLGATE_INTERNAL_KEY", REAL_INTERNAL)


def test_production_is_the_default_env(monkeypatch: pytest.MonkeyPatch) -> None:
    production_secrets(monkeypatch)

    assert BillingSettings().env == "production"


def test_production_refuses_missing_secrets() -> None:
    with pytest.raises(ValidationError, match="TOLLGATE_SECRET_KEY is missing or a placeholder"):
        BillingSettings()


@pytest.mark.parametrize("placeholder", ["change-me", "CHANGE-ME", " changeme ", "secret", "dev", "development", ""])
def test_production_refuses_a_placeholder_secret_key(monkeypatch: pytest.MonkeyPatch, placeholder: str) -> None:
    production_secrets(monkeypatch)
    monkeypatch.setenv("TOLLGATE_SECRET_KEY", placeholder)

    with pytest.raises(ValidationError, match="TOLLGATE_SECRET_KEY") as refused:
        BillingSettings()
    assert "TOLLGATE_ENV=development" in str(refused.value)


@pytest.mark.parametrize("placeholder", ["change-me", "secret", ""])
def test_production_refuses_a_placeholder_internal_key(monkeypatch: pytest.MonkeyPatch, placeholder: str) -> None:
    production_secrets(monkeypatch)
    monkeypatch.setenv("TOLLGATE_INTERNAL_KEY", placeholder)

    with pytest.raises(ValidationError, match="TOLLGATE_INTERNAL_KEY is missing or a placeholder"):
        BillingSettings()


def test_explicit_production_refuses_missing_internal_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOLLGATE_ENV", "production")
    monkeypatch.setenv("TOLLGATE_SECRET_KEY", REAL_SECRET)

    with pytest.raises(ValidationError, match="TOLLGATE_INTERNAL_KEY"):
        ServiceSettings()


def test_production_accepts_real_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    production_secrets(monkeypatch)

    settings = BillingSettings()

    assert settings.secret_key.get_secret_value() == REAL_SECRET
    assert settings.internal_key.get_secret_value() == REAL_INTERNAL
    assert REAL_SECRET not in repr(settings)


def test_development_accepts_placeholder_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOLLGATE_ENV", "development")

    settings = BillingSettings()

    assert settings.env == "development"
    assert settings.secret_key.get_secret_value() == "change-me"


def test_unknown_env_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    production_secrets(monkeypatch)
    monkeypatch.setenv("TOLLGATE_ENV", "staging")

    with pytest.raises(ValidationError):
        BillingSettings()


def test_service_database_url_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    production_secrets(monkeypatch)
    url = "postgresql+asyncpg://billing@db:5432/billing"
    monkeypatch.setenv("TOLLGATE_BILLING_DATABASE_URL", url)

    settings = BillingSettings()

    assert settings.database_url == url
    assert settings.effective_database_url == url


def test_another_services_database_url_is_ignored(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    production_secrets(monkeypatch)
    monkeypatch.setenv("TOLLGATE_AUTH_DATABASE_URL", "postgresql+asyncpg://auth@db/auth")
    monkeypatch.setenv("TOLLGATE_DATA_DIR", str(tmp_path))

    assert BillingSettings().effective_database_url.startswith("sqlite+aiosqlite:///")


def test_without_a_database_url_billing_uses_sqlite_in_the_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    production_secrets(monkeypatch)
    monkeypatch.setenv("TOLLGATE_DATA_DIR", str(tmp_path))

    settings = BillingSettings()

    assert settings.database_url is None
    assert settings.effective_database_url == f"sqlite+aiosqlite:///{(tmp_path / 'billing.db').resolve()}"


def test_relative_data_dir_becomes_an_absolute_sqlite_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    production_secrets(monkeypatch)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TOLLGATE_DATA_DIR", "state")

    url = BillingSettings().effective_database_url

    assert url == f"sqlite+aiosqlite:///{(tmp_path / 'state' / 'billing.db').resolve()}"


def test_service_database_url_wins_over_a_generic_one(monkeypatch: pytest.MonkeyPatch) -> None:
    production_secrets(monkeypatch)
    monkeypatch.setenv("TOLLGATE_DATABASE_URL", "postgresql+asyncpg://shared@db/shared")
    monkeypatch.setenv("TOLLGATE_BILLING_DATABASE_URL", "postgresql+asyncpg://billing@db/billing")

    assert BillingSettings().effective_database_url == "postgresql+asyncpg://billing@db/billing"


def test_default_retry_delays(monkeypatch: pytest.MonkeyPatch) -> None:
    production_secrets(monkeypatch)

    assert BillingSettings().retry_delays == (1.0, 10.0, 60.0)


def test_retry_delays_parse_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    production_secrets(monkeypatch)
    monkeypatch.setenv("TOLLGATE_BUS_RETRY_DELAYS", "0.5, 2,30,")

    assert BillingSettings().retry_delays == (0.5, 2.0, 30.0)


def test_settings_are_frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    production_secrets(monkeypatch)
    settings = BillingSettings()

    with pytest.raises(ValidationError):
        settings.env = "development"  # type: ignore[misc]


def test_numeric_bounds_are_enforced(monkeypatch: pytest.MonkeyPatch) -> None:
    production_secrets(monkeypatch)
    monkeypatch.setenv("TOLLGATE_BUS_PREFETCH", "0")

    with pytest.raises(ValidationError, match="bus_prefetch"):
        BillingSettings()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TOLLGATE_ONLINE_PAYMENT_MIN", "100.005"),  # a fraction of a paisa
        ("TOLLGATE_ONLINE_PAYMENT_MAX", "1000000000000.01"),  # past the money range
        ("TOLLGATE_ONLINE_PAYMENT_MAX", "1e30"),  # too many digits to have paise at all
        ("TOLLGATE_ONLINE_PAYMENT_MIN", "-1e30"),
        ("TOLLGATE_ONLINE_PAYMENT_MIN", "0"),
    ],
)
def test_online_payment_limits_are_amounts_a_payment_could_be(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    production_secrets(monkeypatch)
    monkeypatch.setenv(name, value)

    with pytest.raises(ValidationError, match=name.removeprefix("TOLLGATE_").lower()):
        BillingSettings()


@pytest.mark.parametrize(
    ("variable", "value"),
    [("TOLLGATE_BUS_RETRY_DELAYS", "1,soon"), ("TOLLGATE_BUS_RETRY_DELAYS", "1,-5"), ("TOLLGATE_LOG_LEVEL", "LOUD")],
)
def test_values_the_services_would_trip_on_later_are_refused_at_once(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    production_secrets(monkeypatch)
    monkeypatch.setenv(variable, value)

    with pytest.raises(ValidationError) as refused:
        BillingSettings()
    assert configuration_problem(refused.value) == (
        f"billing settings: {variable}: {refused.value.errors()[0]['msg'].removeprefix('Value error, ')}"
    )


def test_a_configuration_problem_names_every_variable_and_no_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOLLGATE_SECRET_KEY", "dev")
    monkeypatch.setenv("TOLLGATE_BUS_PREFETCH", "a-prefetch-of-secret-words")

    with pytest.raises(ValidationError) as refused:
        GatewaySettings(trusted_proxies="10.0.0.0/8, 10.0.0.0/33")
    problem = configuration_problem(refused.value)
    assert problem is not None and "\n" not in problem and problem.startswith("gateway settings: ")
    for variable in ("TOLLGATE_BUS_PREFETCH", "TOLLGATE_TRUSTED_PROXIES"):
        assert variable in problem
    assert "secret-words" not in problem


def test_other_errors_are_not_configuration_problems() -> None:
    class Order(BaseModel):
        amount: int

    with pytest.raises(ValidationError) as refused:
        Order(amount="many")  # type: ignore[arg-type]
    assert configuration_problem(refused.value) is None
    assert configuration_problem(ValueError("boom")) is None
    assert configuration_problem(SettingsError("set TOLLGATE_X\n now")) == "set TOLLGATE_X now"  # one line


def test_log_levels_are_read_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    production_secrets(monkeypatch)
    monkeypatch.setenv("TOLLGATE_LOG_LEVEL", "warning")

    assert BillingSettings().log_level == "WARNING"
