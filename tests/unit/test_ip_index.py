"""The gateway's rule index: merged intervals, both families, users and all-users rules."""

from __future__ import annotations

from ipaddress import ip_address
from typing import Any

from gateway.ip_index import AccountRules, Intervals, IpRuleIndex


def rule(start: str, end: str, user_id: str | None = None, enabled: bool = True) -> dict[str, Any]:
    return {"start_ip": start, "end_ip": end, "user_id": user_id, "enabled": enabled}


def allowed(rules: AccountRules, user: str, ip: str) -> bool:
    return rules.allows(user, ip_address(ip))


def test_overlapping_and_adjacent_ranges_merge_into_one_interval() -> None:
    merged = Intervals.merge([(10, 20), (15, 30), (31, 40), (50, 60), (5, 12)])
    assert merged.starts == (5, 50) and merged.ends == (40, 60)
    assert merged.contains(5) and merged.contains(40) and merged.contains(31)
    assert not merged.contains(41) and not merged.contains(4) and not merged.contains(61)


def test_range_edges_are_inclusive() -> None:
    rules = AccountRules.build([rule("10.0.0.10", "10.0.0.20")], revision=1)
    assert allowed(rules, "u", "10.0.0.10") and allowed(rules, "u", "10.0.0.20")
    assert not allowed(rules, "u", "10.0.0.9") and not allowed(rules, "u", "10.0.0.21")


def test_both_families_are_kept_apart() -> None:
    rules = AccountRules.build([rule("10.0.0.0", "10.0.0.255"), rule("2001:db8::", "2001:db8::ffff")], revision=1)
    assert allowed(rules, "u", "10.0.0.7") and allowed(rules, "u", "2001:db8::7")
    assert not allowed(rules, "u", "2001:db9::1")
    # An IPv6 address numerically inside the IPv4 range is still IPv6.
    assert not allowed(rules, "u", "::a00:7")


def test_a_users_own_rule_adds_to_the_all_users_rules() -> None:
    rules = AccountRules.build(
        [rule("10.0.0.0", "10.0.0.255"), rule("192.0.2.5", "192.0.2.5", user_id="alice")], revision=1
    )
    assert allowed(rules, "alice", "192.0.2.5") and allowed(rules, "alice", "10.0.0.1")
    assert allowed(rules, "bob", "10.0.0.1") and not allowed(rules, "bob", "192.0.2.5")


def test_only_own_rules_restrict_only_that_user() -> None:
    rules = AccountRules.build([rule("192.0.2.5", "192.0.2.5", user_id="alice")], revision=1)
    assert not allowed(rules, "alice", "198.51.100.1")
    assert allowed(rules, "bob", "198.51.100.1")


def test_disabled_rules_are_ignored() -> None:
    rules = AccountRules.build([rule("10.0.0.0", "10.0.0.255", enabled=False)], revision=1)
    assert allowed(rules, "u", "198.51.100.1")


def test_mapped_ipv6_rules_count_as_ipv4() -> None:
    rules = AccountRules.build([rule("::ffff:10.0.0.1", "::ffff:10.0.0.9")], revision=1)
    assert allowed(rules, "u", "10.0.0.5")


def test_only_newer_revisions_replace_an_accounts_rules() -> None:
    index = IpRuleIndex()
    assert index.apply("acct", [rule("10.0.0.1", "10.0.0.1")], revision=2)
    assert not index.apply("acct", [], revision=1)  # an older event arriving late
    assert not index.apply("acct", [], revision=2)
    assert not index.allows("acct", "u", ip_address("10.0.0.2"))
    assert index.apply("acct", [], revision=3)
    assert index.allows("acct", "u", ip_address("10.0.0.2"))


def test_unknown_accounts_and_staff_are_unrestricted() -> None:
    index = IpRuleIndex()
    index.load_snapshot([{"account_id": "acct", "revision": 1, "rules": [rule("10.0.0.1", "10.0.0.1")]}])
    assert index.loaded
    assert index.allows("other", "u", ip_address("198.51.100.1"))
    assert index.allows(None, "staff", ip_address("198.51.100.1"))
    assert not index.allows("acct", "u", None)


def test_ten_thousand_rules_answer_like_a_scan_would() -> None:
    import random

    generator = random.Random(7)
    raw = []
    for _ in range(10_000):
        start = generator.randrange(0, 2**32 - 1000)
        raw.append((start, start + generator.randrange(0, 1000)))
    rules = AccountRules.build([rule(str(ip_address(s)), str(ip_address(e))) for s, e in raw], revision=1)
    for _ in range(500):
        probe = generator.randrange(0, 2**32)
        expected = any(s <= probe <= e for s, e in raw)
        assert rules.allows("u", ip_address(probe)) == expected
