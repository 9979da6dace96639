"""Whom a change of the IP rules would lock out, judged by recent login addresses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from ipaddress import ip_address

from auth.domain.ip_rules import Rule
from auth.domain.lockout_preview import (
    LockedOut,
    PreviewAction,
    SeenAddress,
    locked_out,
    missing_fields,
    rules_after,
)

NOW = datetime(2026, 12, 5, tzinfo=UTC)
OFFICE = Rule("office", None, ip_address("203.0.113.0"), ip_address("203.0.113.255"), enabled=True)
HOME = Rule("home", "ann", ip_address("198.51.100.20"), ip_address("198.51.100.20"), enabled=True)
USERS = [("ann", "ann@example.com"), ("bob", "bob@example.com"), ("cyd", "cyd@example.com")]
SEEN = [
    SeenAddress("ann", "198.51.100.20", NOW - timedelta(days=1)),
    SeenAddress("ann", "203.0.113.9", NOW - timedelta(days=9)),
    SeenAddress("bob", "192.0.2.1", NOW - timedelta(days=2)),
    SeenAddress("bob", "192.0.2.2", NOW - timedelta(hours=1)),
]  # cyd has not logged in lately


def test_each_action_says_what_it_needs() -> None:
    assert missing_fields(PreviewAction.ADD, {"start_ip": "10.0.0.1"}) == ["end_ip"]
    assert missing_fields(PreviewAction.ADD, {}) == ["start_ip", "end_ip"]
    assert missing_fields(PreviewAction.DELETE, {"start_ip": "10.0.0.1", "rule_id": None}) == ["rule_id"]
    assert missing_fields(PreviewAction.UPDATE, {"rule_id": "r1"}) == []


def test_the_rules_as_they_would_be_after_each_action() -> None:
    assert rules_after(PreviewAction.ADD, [OFFICE], target=HOME) == [OFFICE, HOME]
    assert rules_after(PreviewAction.DELETE, [OFFICE, HOME], target=HOME) == [OFFICE]
    disabled = rules_after(PreviewAction.DISABLE, [OFFICE, HOME], target=HOME)
    assert [rule.enabled for rule in disabled] == [True, False]
    off = Rule("home", "ann", HOME.start, HOME.end, enabled=False)
    assert rules_after(PreviewAction.UPDATE, [OFFICE, off], target=off)[-1].enabled is True


def test_a_user_is_locked_out_when_none_of_their_recent_addresses_would_be_allowed() -> None:
    found = locked_out([OFFICE], users=USERS, seen=SEEN)
    # ann came from the office 9 days ago: still allowed. bob never did: listed with his latest address.
    assert found == [LockedOut("bob", "bob@example.com", "192.0.2.2", NOW - timedelta(hours=1))]


def test_no_rules_lock_nobody_out_and_a_user_without_recent_logins_is_not_judged() -> None:
    assert locked_out([], users=USERS, seen=SEEN) == []
    home_only = Rule("home", "cyd", HOME.start, HOME.end, enabled=True)
    assert locked_out([home_only], users=USERS, seen=SEEN) == []


def test_a_rule_for_one_user_judges_only_that_user() -> None:
    found = locked_out([Rule("r", "ann", OFFICE.start, OFFICE.end, enabled=True)], users=USERS, seen=SEEN)
    assert found == []  # ann was at the office within the window
    found = locked_out([Rule("r", "bob", OFFICE.start, OFFICE.end, enabled=True)], users=USERS, seen=SEEN)
    assert [entry.user_id for entry in found] == ["bob"]
