"""The login's decisions: which failure a password step is, and what a correct password leads to."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from auth.domain.login import LoginFailure, NextStep, must_enrol_totp, next_step, password_refusal, session_needs_code
from auth.domain.records import User
from auth.domain.roles import AccountRole, StaffRole

MEMBER = User(
    id="u1",
    account_id="a1",
    email="someone@example.com",
    password_hash="$argon2id$...",
    role=AccountRole.USER,
    active=True,
    totp_secret=None,
    totp_last_step=None,
    totp_generation=0,
    created_at=datetime(2026, 1, 1, tzinfo=UTC),
)
ENROLLED = replace(MEMBER, totp_secret="sealed seed")
STAFF = replace(MEMBER, account_id=None, role=StaffRole.FINANCE)


def test_a_wrong_password_and_an_unknown_email_are_the_same_failure() -> None:
    assert password_refusal(MEMBER, password_ok=False) == LoginFailure.INVALID_CREDENTIALS
    assert password_refusal(None, password_ok=False) == LoginFailure.INVALID_CREDENTIALS


def test_a_deactivated_user_with_the_right_password_fails_as_inactive() -> None:
    assert password_refusal(replace(MEMBER, active=False), password_ok=True) == LoginFailure.INACTIVE


def test_an_active_user_with_the_right_password_passes_the_password_step() -> None:
    assert password_refusal(MEMBER, password_ok=True) is None


def test_an_enrolled_user_is_asked_for_a_code_whatever_the_policy() -> None:
    assert next_step(ENROLLED, account_enforces_totp=False) == NextStep.TOTP_REQUIRED
    assert next_step(ENROLLED, account_enforces_totp=True) == NextStep.TOTP_REQUIRED


def test_a_user_not_enrolled_gets_a_session_unless_the_account_enforces_totp() -> None:
    assert next_step(MEMBER, account_enforces_totp=False) == NextStep.SESSION
    assert next_step(MEMBER, account_enforces_totp=True) == NextStep.TOTP_SETUP_REQUIRED


def test_staff_must_always_enrol() -> None:
    assert must_enrol_totp(STAFF, account_enforces_totp=False)
    assert next_step(STAFF, account_enforces_totp=False) == NextStep.TOTP_SETUP_REQUIRED


def test_a_session_opened_with_a_code_never_needs_one_again() -> None:
    assert not session_needs_code(("pwd", "otp"), ENROLLED, account_enforces_totp=True)


def test_a_password_only_session_ends_once_2fa_applies_to_its_user() -> None:
    assert not session_needs_code(("pwd",), MEMBER, account_enforces_totp=False)
    assert session_needs_code(("pwd",), MEMBER, account_enforces_totp=True)
    assert session_needs_code(("pwd",), ENROLLED, account_enforces_totp=False)
    assert session_needs_code(("pwd",), STAFF, account_enforces_totp=False)
