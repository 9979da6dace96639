"""Auth's records as the use cases see them: frozen values, built from rows in `adapters/`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from auth.domain.challenges import ChallengePurpose
from auth.domain.errors import AccountRequired
from auth.domain.ip_rules import Rule, parse_ip
from auth.domain.roles import Role
from auth.domain.totp_grace import TotpPolicy


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    enforce_totp: bool
    ip_rules_revision: int
    created_at: datetime
    totp_grace_days: int = 0
    totp_policy_since: datetime | None = None  # when enforcement came on or the grace was last set

    @property
    def totp_policy(self) -> TotpPolicy:
        return TotpPolicy(enforce=self.enforce_totp, grace_days=self.totp_grace_days, since=self.totp_policy_since)


@dataclass(frozen=True)
class User:
    id: str
    account_id: str | None  # None for platform staff
    email: str
    password_hash: str
    role: Role
    active: bool
    totp_secret: str | None  # sealed
    totp_last_step: int | None
    totp_generation: int
    created_at: datetime

    @property
    def totp_enrolled(self) -> bool:
        return self.totp_secret is not None


@dataclass(frozen=True)
class Challenge:
    token_hash: str
    user_id: str
    purpose: ChallengePurpose
    pending_secret: str | None  # sealed, setup challenges only
    failures: int
    totp_generation: int
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True)
class Session:
    id: str
    user_id: str
    account_id: str | None
    amr: tuple[str, ...]
    expires_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class RefreshToken:
    token_hash: str
    session_id: str
    replaced_at: datetime | None  # set once exchanged: presenting it again is theft


@dataclass(frozen=True)
class IpRule:
    id: str
    account_id: str
    user_id: str | None
    start_ip: str
    end_ip: str
    description: str
    enabled: bool
    created_at: datetime
    created_by: str

    def rule(self, *, enabled: bool | None = None) -> Rule:
        """The rule as the domain decides with it (optionally as it would be, enabled or not)."""
        return Rule(
            id=self.id,
            user_id=self.user_id,
            start=parse_ip(self.start_ip, field="start_ip"),
            end=parse_ip(self.end_ip, field="end_ip"),
            enabled=self.enabled if enabled is None else enabled,
        )

    @property
    def range(self) -> str:
        return f"{self.start_ip}-{self.end_ip}"


@dataclass(frozen=True)
class AuditEntry:
    id: str
    action: str  # an AuditAction when written; read back as stored
    actor_id: str | None
    actor_email: str | None
    target_user_id: str | None
    target: str | None
    ip: str | None
    details: dict[str, Any] | None
    created_at: datetime


@dataclass(frozen=True)
class Caller:
    """Who is calling: an active user in a live session, with their account (None for staff)."""

    user: User
    account: Account | None
    session_id: str
    amr: tuple[str, ...]

    @property
    def account_id(self) -> str:
        return self.member_of().id

    def member_of(self) -> Account:
        if self.account is None:
            raise AccountRequired()
        return self.account
