"""Settings every service shares; each service subclasses `ServiceSettings`.

All settings are environment variables with the prefix `TOLLGATE_`. A service's
database URL is `TOLLGATE_<SERVICE>_DATABASE_URL`; when it is unset the service
uses a SQLite file in the embedded data folder (`TOLLGATE_DATA_DIR`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that ship in examples and must never protect a production system.
PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "secret", "dev", "development"})
DEVELOPMENT_SECRET = "change-me"  # noqa: S105 (the placeholder production refuses)


class SettingsError(ValueError):
    """The configuration cannot run safely."""


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
    outbox_poll_interval: float = Field(default=1.0, gt=0, le=60)
    outbox_batch_size: int = Field(default=500, ge=1, le=10_000)
    inbox_retention_days: int = Field(default=30, ge=1)
    log_level: str = "INFO"

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

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> ServiceSettings:
        if self.env == "development":
            return self
        for name in self.secret_fields():
            value: SecretStr = getattr(self, name)
            if value.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS:
                raise SettingsError(
                    f"TOLLGATE_{name.upper()} is missing or a placeholder; set a real secret "
                    "or TOLLGATE_ENV=development"
                )
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
