"""Settings every service shares; each service subclasses `ServiceSettings`.

All settings are environment variables with the prefix `TOLLGATE_`. A service's
database URL is `TOLLGATE_<SERVICE>_DATABASE_URL`; when it is unset the service
uses a SQLite file in the embedded data folder (`TOLLGATE_DATA_DIR`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that ship in examples and must never protect a production system.
PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "secret", "dev", "development"})
DEVELOPMENT_SECRET = "change-me"  # noqa: S105 (the placeholder production refuses)


class SettingsError(ValueError):
    """The configuration cannot run safely (the message says which variables to set)."""


def _csv_floats(value: str) -> tuple[float, ...]:
    return tuple(float(part) for part in value.split(",") if part.strip())


class ServiceSettings(BaseSettings):
    """Settings common to every service."""

    model_config = SettingsConfigDict(env_prefix="TOLLGATE_", extra="ignore", frozen=True)

    service_name: ClassVar[str] = "service"

    env: Literal["development", "production"] = "production"
    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET)
    internal_key: SecretStr = SecretStr(DEVELOPMENT_SECRET)
    data_dir: Path = Path("data")
    amqp_url: str | None = None
    database_url: str | None = None
    # auth's address (or its replicas, comma-separated): the gateway fetches its public keys
    # there, and every service the sessions it revoked.
    auth_url: str = "http://127.0.0.1:8101"
    # auth: lifetime of an access token; elsewhere: how long a revoked session is remembered.
    access_token_minutes: int = Field(default=15, ge=1, le=60)

    bus_prefetch: int = Field(default=100, ge=1, le=10_000)
    bus_delivery_limit: int = Field(default=10, ge=1, le=1_000)
    # Backoff tiers (seconds) a failed message waits before its next attempt;
    # after the last tier it is parked in the dead-letter queue.
    bus_retry_delays: str = "1,10,60"
    # Consumers paused for their database probe it after 0.5 s, the wait doubling up to this.
    bus_outage_probe_max_seconds: float = Field(default=5.0, gt=0, le=300)
    outbox_poll_interval: float = Field(default=1.0, gt=0, le=60)
    outbox_batch_size: int = Field(default=500, ge=1, le=10_000)
    inbox_retention_days: int = Field(default=30, ge=1)
    # SIGTERM to exit: requests and messages in hand finish, the outbox is flushed (lifecycle.py).
    # The deploy files give the process more than this before they kill it.
    shutdown_grace_seconds: float = Field(default=20.0, ge=5, le=600)
    log_level: str = "INFO"
    # The management port serving `/metrics` (`tollgate serve --metrics-port` wins); unset: none.
    metrics_port: int | None = Field(default=None, ge=1, le=65_535)
    # Where it listens: loopback unless a container must be scraped from outside (0.0.0.0).
    metrics_host: str = "127.0.0.1"

    @model_validator(mode="before")
    @classmethod
    def _service_database_url(cls, values: dict[str, object]) -> dict[str, object]:
        # The documented name is `TOLLGATE_<SERVICE>_DATABASE_URL`, one per
        # service; the field's generic name `TOLLGATE_DATABASE_URL` would point
        # every service at one database, so it is not a setting.
        if not isinstance(values, dict):
            return values
        own = os.environ.get(f"TOLLGATE_{cls.service_name.upper()}_DATABASE_URL")
        generic = os.environ.get("TOLLGATE_DATABASE_URL")
        given = values.get("database_url")
        if given is None or (generic is not None and given == generic):
            values = {**values, "database_url": own or None}
        return values

    @field_validator("bus_retry_delays")
    @classmethod
    def _delays_are_seconds(cls, value: str) -> str:
        # Parsed here, not first when the bus starts: a mistake is a settings error, not a crash.
        try:
            delays = _csv_floats(value)
        except ValueError:
            raise ValueError("must be seconds separated by commas, such as 1,10,60") from None
        if any(delay < 0 for delay in delays):
            raise ValueError("must not be negative")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if not isinstance(logging.getLevelName(level), int):
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> ServiceSettings:
        if self.env == "development":
            return self
        missing = [
            f"TOLLGATE_{name.upper()} is missing or a placeholder"
            for name in self.secret_fields()
            if getattr(self, name).get_secret_value().strip().lower() in PLACEHOLDER_SECRETS
        ]
        if missing:
            raise SettingsError(f"{', '.join(missing)}; set real secrets or TOLLGATE_ENV=development")
        return self

    def secret_fields(self) -> tuple[str, ...]:
        """Names of the settings that must hold real secrets in production."""
        return ("secret_key", "internal_key")

    @property
    def auth_urls(self) -> list[str]:
        return [url.strip() for url in self.auth_url.split(",") if url.strip()]

    @property
    def retry_delays(self) -> tuple[float, ...]:
        return _csv_floats(self.bus_retry_delays)

    @property
    def effective_database_url(self) -> str:
        """The configured database, or the service's SQLite file in the data folder."""
        if self.database_url:
            return self.database_url
        path = (self.data_dir / f"{self.service_name}.db").resolve()
        return f"sqlite+aiosqlite:///{path}"


def configuration_problem(error: BaseException) -> str | None:
    """One line saying what to set, when `error` is a settings mistake; None for any other error.

    A `SettingsError` says it already; a pydantic `ValidationError` of a settings class
    is told variable by variable (`TOLLGATE_<FIELD>: what is wrong`), without the value
    given, which may be a secret.
    """
    if isinstance(error, ValidationError):
        settings = _settings_class(error.title)
        if settings is None:
            return None
        problems = []
        for item in error.errors(include_url=False, include_input=False):
            message = str(item["msg"]).removeprefix("Value error, ")
            field = str(item["loc"][0]) if item["loc"] else None
            problems.append(f"{_variable(settings, field)}: {message}" if field else message)
        return _one_line(f"{settings.service_name} settings: {'; '.join(problems)}")
    if isinstance(error, SettingsError):
        return _one_line(str(error))
    return None


def _settings_class(name: str) -> type[ServiceSettings] | None:
    pending: list[type[ServiceSettings]] = [ServiceSettings]
    while pending:
        candidate = pending.pop()
        if candidate.__name__ == name:
            return candidate
        pending.extend(candidate.__subclasses__())
    return None


def _variable(settings: type[ServiceSettings], field: str) -> str:
    if field == "database_url":  # see `_service_database_url`
        return f"TOLLGATE_{settings.service_name.upper()}_DATABASE_URL"
    return f"TOLLGATE_{field.upper()}"


def _one_line(text: str) -> str:
    return " ".join(text.split())
