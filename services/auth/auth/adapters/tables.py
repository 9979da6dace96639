"""Auth's tables (plus the outbox and inbox)."""

from collections.abc import Iterable

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from auth.domain.challenges import ChallengePurpose
from auth.domain.roles import ROLES, StaffRole
from tollgate_shared.db import UtcDateTime, new_metadata
from tollgate_shared.messaging_tables import add_messaging_tables


def one_of(column: str, values: Iterable[str]) -> str:
    """A check constraint's SQL admitting exactly `values` (a vocabulary's StrEnum)."""
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


metadata = new_metadata()
messaging = add_messaging_tables(metadata)

account = Table(
    "account",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("enforce_totp", Boolean, nullable=False, default=False, server_default="0"),
    # The grace of enforced 2FA in days, and when it (or enforcement) last started: see domain/totp_grace.py.
    Column("totp_grace_days", Integer, nullable=False, default=0, server_default="0"),
    Column("totp_policy_since", UtcDateTime(), nullable=True),
    # Grows with every change of the account's IP rules; gateways keep the newest.
    Column("ip_rules_revision", BigInteger, nullable=False, default=0, server_default="0"),
    Column("created_at", UtcDateTime(), nullable=False),
    CheckConstraint("totp_grace_days BETWEEN 0 AND 30", name="totp_grace_days"),
)

user = Table(
    "user",
    metadata,
    Column("id", String(36), primary_key=True),
    # NULL for platform staff (finance), who belong to no account.
    Column("account_id", String(36), ForeignKey("account.id"), nullable=True, index=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    # TOTP: the seed sealed by the secret box; the last accepted time step stops replays.
    Column("totp_secret", Text, nullable=True),
    Column("totp_last_step", BigInteger, nullable=True),
    Column("totp_enrolled_at", UtcDateTime(), nullable=True),
    # Grows at every enrolment and reset: a login challenge opened under an older one is void.
    Column("totp_generation", Integer, nullable=False, default=0, server_default="0"),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("deactivated_at", UtcDateTime(), nullable=True),
    CheckConstraint(one_of("role", ROLES), name="role"),
    CheckConstraint(f"(role = '{StaffRole.FINANCE}') = (account_id IS NULL)", name="staff_have_no_account"),
)

recovery_code = Table(
    "recovery_code",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("user.id"), nullable=False, index=True),
    Column("code_hash", String(64), nullable=False),
    Column("used_at", UtcDateTime(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
)

login_challenge = Table(
    "login_challenge",
    metadata,
    # The SHA-256 of the opaque challenge the client holds; the challenge itself is never stored.
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", String(36), ForeignKey("user.id"), nullable=False, index=True),
    Column("purpose", String(20), nullable=False),
    # Setup challenges carry the seed being enrolled (sealed) until it is confirmed.
    Column("pending_secret", Text, nullable=True),
    Column("failures", Integer, nullable=False, default=0),
    # The user's totp_generation when the challenge was opened (see `user`).
    Column("totp_generation", Integer, nullable=False, default=0, server_default="0"),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("used_at", UtcDateTime(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    CheckConstraint(one_of("purpose", ChallengePurpose), name="purpose"),
)

session = Table(
    "session",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("user.id"), nullable=False, index=True),
    Column("account_id", String(36), nullable=True),
    Column("amr", String(50), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime(), nullable=True),
    Column("revoked_reason", String(40), nullable=True),
)

refresh_token = Table(
    "refresh_token",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("session_id", String(36), ForeignKey("session.id"), nullable=False, index=True),
    Column("created_at", UtcDateTime(), nullable=False),
    # Set when it was exchanged for the next one: presenting it again is theft.
    Column("replaced_at", UtcDateTime(), nullable=True),
)

signing_key = Table(
    "signing_key",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("algorithm", String(10), nullable=False),
    Column("private_key", Text, nullable=False),  # sealed PEM
    Column("public_jwk", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    # Retired keys no longer sign but still verify until removed.
    Column("retired_at", UtcDateTime(), nullable=True),
)

ip_rule = Table(
    "ip_rule",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", String(36), ForeignKey("account.id"), nullable=False, index=True),
    Column("user_id", String(36), ForeignKey("user.id"), nullable=True),
    Column("start_ip", String(45), nullable=False),
    Column("end_ip", String(45), nullable=False),
    Column("description", String(255), nullable=False, default=""),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(36), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

audit_entry = Table(
    "audit_entry",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", String(36), nullable=True),
    Column("actor_id", String(36), nullable=True),
    Column("actor_email", String(320), nullable=True),
    Column("action", String(60), nullable=False),
    Column("target_user_id", String(36), nullable=True),
    Column("target", String(200), nullable=True),
    Column("ip", String(45), nullable=True),
    Column("details", Text, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
)
Index("ix_audit_entry_account_created", audit_entry.c.account_id, audit_entry.c.created_at)

login_throttle = Table(
    "login_throttle",
    metadata,
    # "email:<sha256 of the normalised email>" (wrong passwords, known email or not),
    # "totp:<user id>" (wrong codes) or "ip:<address>": see auth/adapters/throttle_store.py.
    Column("key", String(100), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("blocked_until", UtcDateTime(), nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
)
