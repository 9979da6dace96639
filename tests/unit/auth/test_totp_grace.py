"""The grace of enforced 2FA: by when each user must enrol, and when the grace restarts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from auth.domain.totp_grace import (
    TotpPolicy,
    TotpState,
    changed_policy,
    enrolment_due_by,
    enrolment_required,
    totp_state,
)

SWITCHED_ON = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
EARLY_USER = datetime(2026, 1, 1, tzinfo=UTC)
WEEK = TotpPolicy(enforce=True, grace_days=7, since=SWITCHED_ON)


def test_nothing_is_due_while_the_account_does_not_enforce_2fa() -> None:
    assert enrolment_due_by(TotpPolicy(enforce=False), user_created_at=EARLY_USER) is None
    assert not enrolment_required(TotpPolicy(enforce=False), user_created_at=EARLY_USER, now=SWITCHED_ON)


def test_a_user_older_than_the_policy_has_the_grace_from_when_it_was_switched_on() -> None:
    assert enrolment_due_by(WEEK, user_created_at=EARLY_USER) == SWITCHED_ON + timedelta(days=7)


def test_a_user_added_later_gets_the_whole_grace_from_their_creation() -> None:
    added = SWITCHED_ON + timedelta(days=5)
    assert enrolment_due_by(WEEK, user_created_at=added) == added + timedelta(days=7)


def test_enrolment_is_required_from_the_deadline_on() -> None:
    due = SWITCHED_ON + timedelta(days=7)
    assert not enrolment_required(WEEK, user_created_at=EARLY_USER, now=due - timedelta(seconds=1))
    assert enrolment_required(WEEK, user_created_at=EARLY_USER, now=due)


def test_no_grace_means_enrolment_at_the_next_login() -> None:
    policy = TotpPolicy(enforce=True, grace_days=0, since=SWITCHED_ON)
    assert enrolment_required(policy, user_created_at=EARLY_USER, now=SWITCHED_ON)
    # Accounts that enforced 2FA before the grace existed have no start: each user's creation is it.
    assert enrolment_required(TotpPolicy(enforce=True), user_created_at=EARLY_USER, now=EARLY_USER)


def test_switching_on_or_changing_the_grace_restarts_it_and_the_same_policy_again_does_not() -> None:
    later = SWITCHED_ON + timedelta(days=3)
    off = TotpPolicy(enforce=False)
    assert changed_policy(off, enforce=True, grace_days=7, now=SWITCHED_ON) == WEEK
    assert changed_policy(WEEK, enforce=True, grace_days=7, now=later) == WEEK
    assert changed_policy(WEEK, enforce=True, grace_days=14, now=later) == TotpPolicy(True, 14, later)
    assert changed_policy(WEEK, enforce=False, grace_days=7, now=later) == TotpPolicy(False, 7, None)


def test_the_state_administrators_see() -> None:
    inside, after = SWITCHED_ON + timedelta(days=1), SWITCHED_ON + timedelta(days=8)
    assert totp_state(WEEK, enrolled=True, user_created_at=EARLY_USER, now=after) == TotpState.ENROLLED
    assert totp_state(WEEK, enrolled=False, user_created_at=EARLY_USER, now=inside) == TotpState.DUE
    assert totp_state(WEEK, enrolled=False, user_created_at=EARLY_USER, now=after) == TotpState.REQUIRED
    off = TotpPolicy(enforce=False)
    assert totp_state(off, enrolled=False, user_created_at=EARLY_USER, now=after) == TotpState.OPTIONAL
