"""Login challenges: opaque, single-user, single-purpose, 5 minutes, 5 wrong codes.

A challenge is opened under the user's TOTP generation, which every enrolment
and reset advances: a challenge opened before either is void, so a stale setup
challenge cannot replace a secret enrolled since, nor a stale code challenge be
answered with a secret enrolled since.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from auth.domain.records import Challenge, User

LIFETIME = timedelta(minutes=5)
MAX_FAILURES = 5


class ChallengePurpose(StrEnum):
    TOTP = "totp"  # answer with a code
    TOTP_SETUP = "totp_setup"  # enrol, then answer with the first code


def is_live(challenge: Challenge, *, now: datetime) -> bool:
    """Usable: not used, not killed by wrong codes, not expired."""
    return challenge.used_at is None and challenge.failures < MAX_FAILURES and challenge.expires_at > now


def speaks_for(challenge: Challenge, owner: User) -> bool:
    """Whether `challenge` still applies to its owner as they are now: active, same TOTP
    generation, and a code challenge for an enrolled user or a setup challenge for one who is not."""
    if not owner.active or challenge.totp_generation != owner.totp_generation:
        return False
    if challenge.purpose == ChallengePurpose.TOTP:
        return owner.totp_enrolled
    return not owner.totp_enrolled


def attempts_left_after_failure(challenge: Challenge) -> int:
    """How many codes the challenge still takes once this wrong one is counted."""
    return max(MAX_FAILURES - challenge.failures - 1, 0)
