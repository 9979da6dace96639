"""Each vocabulary is written once: the database's check constraints and the refusals' answers follow from it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from auth.adapters.tables import login_challenge, one_of, user
from auth.domain.errors import AccountRequired, InvalidCode, TooManyAttempts
from auth.domain.records import Caller, Session, User
from auth.domain.roles import AccountRole, StaffRole, role_named
from auth.domain.sessions import has_ended

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def check_constraints(table: object) -> set[str]:
    return {str(constraint.sqltext) for constraint in table.constraints if hasattr(constraint, "sqltext")}  # type: ignore[attr-defined]


def test_the_check_constraints_are_the_ones_the_migrations_created() -> None:
    assert check_constraints(user) == {
        "role IN ('admin', 'user', 'finance')",
        "(role = 'finance') = (account_id IS NULL)",
    }
    assert check_constraints(login_challenge) == {"purpose IN ('totp', 'totp_setup')"}


def test_one_of_quotes_every_value_in_order() -> None:
    assert one_of("role", AccountRole) == "role IN ('admin', 'user')"


def test_a_stored_role_reads_back_as_its_enum() -> None:
    assert role_named("admin") is AccountRole.ADMIN
    assert role_named("finance") is StaffRole.FINANCE
    with pytest.raises(ValueError):
        role_named("root")


def test_too_many_attempts_says_how_long_in_words_and_in_retry_after() -> None:
    assert TooManyAttempts(1).detail == "Try again in 1 second."
    assert TooManyAttempts(30).detail == "Try again in 30 seconds."
    assert TooManyAttempts(30).headers == {"Retry-After": "30"}


def test_a_wrong_code_tells_whether_the_challenge_lives_on() -> None:
    assert InvalidCode(attempts_left=2).extensions == {"attempts_left": 2, "challenge_alive": True}
    assert InvalidCode(attempts_left=0).extensions == {"attempts_left": 0, "challenge_alive": False}


def test_a_session_ends_when_revoked_or_past_its_expiry() -> None:
    live = Session(
        id="s", user_id="u", account_id="a", amr=("pwd",), expires_at=NOW + timedelta(days=1), revoked_at=None
    )
    assert not has_ended(live, now=NOW)
    assert has_ended(live, now=NOW + timedelta(days=1))
    assert has_ended(replace(live, revoked_at=NOW), now=NOW)


def test_staff_calling_an_account_route_are_refused() -> None:
    staff = User(
        id="u1",
        account_id=None,
        email="finance@example.com",
        password_hash="$argon2id$...",
        role=StaffRole.FINANCE,
        active=True,
        totp_secret="sealed seed",
        totp_last_step=None,
        totp_generation=1,
        created_at=NOW,
    )
    with pytest.raises(AccountRequired):
        _ = Caller(user=staff, account=None, session_id="s", amr=("pwd", "otp")).account_id
