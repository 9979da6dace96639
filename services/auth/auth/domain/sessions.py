"""Sessions: how a user authenticated, and why a session ended."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from tollgate_shared.events.vocabulary import RevocationReason as RevocationReason

if TYPE_CHECKING:
    from auth.domain.records import Session


class Amr(StrEnum):
    """Authentication methods (RFC 8176), as the access token's `amr` claim lists them."""

    PASSWORD = "pwd"  # noqa: S105 (a method, not a secret)
    ONE_TIME_PASSWORD = "otp"  # noqa: S105 (a method, not a secret)


PASSWORD_ONLY = (Amr.PASSWORD,)
PASSWORD_AND_CODE = (Amr.PASSWORD, Amr.ONE_TIME_PASSWORD)


def has_ended(session: Session, *, now: datetime) -> bool:
    """Revoked, or past the last moment it could be refreshed."""
    return session.revoked_at is not None or session.expires_at <= now
