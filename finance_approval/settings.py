"""The program's settings: environment variables, read once at start."""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit


class BadSettings(ValueError):
    pass


@dataclass(frozen=True)
class FinanceSettings:
    amqp_url: str | None
    rules_file: Path
    held_file: Path
    prefetch: int
    operator: str
    log_level: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> FinanceSettings:
        prefetch = env.get("TOLLGATE_FINANCE_PREFETCH", "20")
        if not prefetch.isdigit() or int(prefetch) < 1:
            raise BadSettings("TOLLGATE_FINANCE_PREFETCH must be a whole number of at least 1")
        return cls(
            amqp_url=env.get("TOLLGATE_FINANCE_AMQP_URL") or None,
            rules_file=Path(env.get("TOLLGATE_FINANCE_RULES", "finance-rules.toml")),
            held_file=Path(env.get("TOLLGATE_FINANCE_HELD_FILE", "finance-held.sqlite3")),
            prefetch=int(prefetch),
            operator=env.get("TOLLGATE_FINANCE_OPERATOR") or getpass.getuser(),
            log_level=env.get("TOLLGATE_FINANCE_LOG_LEVEL", "INFO").upper(),
        )

    def broker_url(self) -> str:
        if not self.amqp_url:
            raise BadSettings("set TOLLGATE_FINANCE_AMQP_URL to the finance login's broker URL")
        return self.amqp_url

    @property
    def broker_user(self) -> str:
        """The login in the URL: the AMQP `user_id` of every decision (RabbitMQ checks it matches)."""
        return unquote(urlsplit(self.broker_url()).username or "guest")  # AMQP's default login

    @property
    def broker_address(self) -> str:
        """Where the broker is, for logs: host, port and vhost, never the password."""
        parts = urlsplit(self.broker_url())
        return f"{parts.hostname}:{parts.port or 5672}{parts.path or '/'}"
