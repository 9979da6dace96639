"""The login's decisions: which failure a password step is, and which step comes next."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from auth.domain.records import User
from auth.domain.sessions import Amr


class LoginFailure(StrEnum):
    """Why an attempt failed: the `reason` of `auth.login.failed`, the audit and the metric (a fixed set)."""

    INVALID_CREDENTIALS = "invalid_credentials"
    INACTIVE = "inactive"
    IP_NOT_ALLOWED = "ip_not_allowed"
    THROTTLED = "throttled"
    WRONG_CODE = "wrong_totp_code"  # a wrong TOTP or recovery code


class NextStep(StrEnum):
    """What a correct password leads to."""

    SESSION = "ok"
    TOTP_REQUIRED = "totp_required"
    TOTP_SETUP_REQUIRED = "totp_setup_required"


def password_refusal(user: User | None, *, password_ok: bool) -> LoginFailure | None:
    """None when the password step passes; else why not (the answer is the same for both)."""
    if not password_ok or user is None:
        return LoginFailure.INVALID_CREDENTIALS
    return None if user.active else LoginFailure.INACTIVE


def must_enrol_totp(user: User, *, account_enforces_totp: bool) -> bool:
    """Staff always; account users while their account's enforcement applies to them
    (`account_enforces_totp`: enforced and any grace over, `totp_grace.enrolment_required`)."""
    return user.account_id is None or account_enforces_totp


def next_step(user: User, *, account_enforces_totp: bool) -> NextStep:
    if user.totp_enrolled:
        return NextStep.TOTP_REQUIRED
    if must_enrol_totp(user, account_enforces_totp=account_enforces_totp):
        return NextStep.TOTP_SETUP_REQUIRED
    return NextStep.SESSION


def session_needs_code(amr: Iterable[str], user: User, *, account_enforces_totp: bool) -> bool:
    """A session opened without a code ends at its next refresh once 2FA applies to its user."""
    if Amr.ONE_TIME_PASSWORD in amr:
        return False
    return user.totp_enrolled or must_enrol_totp(user, account_enforces_totp=account_enforces_totp)
