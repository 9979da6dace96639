"""Login challenges: when one is usable, and when it still speaks for its owner."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from auth.domain.challenges import MAX_FAILURES, ChallengePurpose, attempts_left_after_failure, is_live, speaks_for
from auth.domain.records import Challenge, User
from auth.domain.roles import AccountRole

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
OWNER = User(
    id="u1",
    account_id="a1",
    email="someone@example.com",
    password_hash="$argon2id$...",
    role=AccountRole.USER,
    active=True,
    totp_secret="sealed seed",
    totp_last_step=None,
    totp_generation=3,
    created_at=NOW,
)
CODE_CHALLENGE = Challenge(
    token_hash="h",
    user_id="u1",
    purpose=ChallengePurpose.TOTP,
    pending_secret=None,
    failures=0,
    totp_generation=3,
    expires_at=NOW + timedelta(minutes=5),
    used_at=None,
)
SETUP_CHALLENGE = replace(CODE_CHALLENGE, purpose=ChallengePurpose.TOTP_SETUP)


def test_a_fresh_challenge_is_live() -> None:
    assert is_live(CODE_CHALLENGE, now=NOW)


def test_a_used_expired_or_exhausted_challenge_is_dead() -> None:
    assert not is_live(replace(CODE_CHALLENGE, used_at=NOW), now=NOW)
    assert not is_live(CODE_CHALLENGE, now=NOW + timedelta(minutes=5))
    assert not is_live(replace(CODE_CHALLENGE, failures=MAX_FAILURES), now=NOW)


def test_a_code_challenge_speaks_for_an_enrolled_owner_and_a_setup_one_for_an_owner_not_enrolled() -> None:
    assert speaks_for(CODE_CHALLENGE, OWNER)
    assert not speaks_for(SETUP_CHALLENGE, OWNER)
    assert speaks_for(SETUP_CHALLENGE, replace(OWNER, totp_secret=None))
    assert not speaks_for(CODE_CHALLENGE, replace(OWNER, totp_secret=None))


def test_a_challenge_opened_before_an_enrolment_or_reset_is_void() -> None:
    assert not speaks_for(CODE_CHALLENGE, replace(OWNER, totp_generation=4))


def test_a_challenge_of_a_deactivated_owner_is_void() -> None:
    assert not speaks_for(CODE_CHALLENGE, replace(OWNER, active=False))


def test_each_wrong_code_costs_one_attempt_down_to_none() -> None:
    assert attempts_left_after_failure(CODE_CHALLENGE) == MAX_FAILURES - 1
    assert attempts_left_after_failure(replace(CODE_CHALLENGE, failures=MAX_FAILURES - 1)) == 0
    assert attempts_left_after_failure(replace(CODE_CHALLENGE, failures=MAX_FAILURES + 3)) == 0
