"""The grace period of enforced 2FA: by when a user without TOTP must enrol (DESIGN.md §10).

The deadline is counted per user from the later of two moments: when the account's
policy last started (enforcement switched on, or the grace changed while on) and
when the user was created. So a user added during a long enforcement gets the whole
grace too, and an administrator who changes the grace restarts it for everyone not
yet enrolled. A grace of 0 days makes the deadline that moment: enrol at the next
login, as before there was a grace.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

MAX_GRACE_DAYS = 30


@dataclass(frozen=True)
class TotpPolicy:
    """An account's 2FA policy: whether it is enforced, how long users get, and since when."""

    enforce: bool
    grace_days: int = 0
    since: datetime | None = None  # when enforcement was switched on or the grace last set


class TotpState(StrEnum):
    """A user's 2FA as administrators see it."""

    ENROLLED = "enrolled"
    DUE = "due"  # inside the grace: may log in without a code until the deadline
    REQUIRED = "required"  # enrolment at the next login
    OPTIONAL = "optional"  # not enforced, not enrolled


def changed_policy(current: TotpPolicy, *, enforce: bool, grace_days: int, now: datetime) -> TotpPolicy:
    """The policy after an administrator's change: the grace restarts when enforcement comes on
    or its length changes while on; the same policy again keeps its start."""
    if enforce and (not current.enforce or current.grace_days != grace_days or current.since is None):
        return TotpPolicy(enforce=True, grace_days=grace_days, since=now)
    return TotpPolicy(enforce=enforce, grace_days=grace_days, since=current.since if enforce else None)


def enrolment_due_by(policy: TotpPolicy, *, user_created_at: datetime) -> datetime | None:
    """When a user not enrolled must have enrolled by; None when the account does not enforce 2FA."""
    if not policy.enforce:
        return None
    start = user_created_at if policy.since is None else max(policy.since, user_created_at)
    return start + timedelta(days=policy.grace_days)


def enrolment_required(policy: TotpPolicy, *, user_created_at: datetime, now: datetime) -> bool:
    """Whether a user not enrolled must enrol now (the grace, if any, is over)."""
    due = enrolment_due_by(policy, user_created_at=user_created_at)
    return due is not None and now >= due


def totp_state(policy: TotpPolicy, *, enrolled: bool, user_created_at: datetime, now: datetime) -> TotpState:
    if enrolled:
        return TotpState.ENROLLED
    if not policy.enforce:
        return TotpState.OPTIONAL
    if enrolment_required(policy, user_created_at=user_created_at, now=now):
        return TotpState.REQUIRED
    return TotpState.DUE
