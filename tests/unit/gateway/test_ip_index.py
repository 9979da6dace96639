"""The gateway's rule index: merged intervals, both families, users and all-users rules."""

from __future__ import annotations

import random
from ipaddress import ip_address
from typing import Any

import pytest

from gateway.client_address import Address, parse_address
from gateway.ip_index import JUMP_TABLE_FROM, AccountRules, Intervals, IpRuleIndex
from tollgate_shared.events.models import IpRule


def rule(start: str, end: str, user_id: str | None = None, enabled: bool = True) -> dict[str, Any]:
    return {"start_ip": start, "end_ip": end, "user_id": user_id, "enabled": enabled}


def ip(text: str) -> Address:
    address = parse_address(text)
    assert address is not None
    return address


def allowed(rules: AccountRules, user: str, text: str) -> bool:
    return rules.allows(user, ip(text))


def test_overlapping_and_adjacent_ranges_merge_into_one_interval() -> None:
    merged = Intervals.merge([(10, 20), (15, 30), (31, 40), (50, 60), (5, 12)])
    assert list(merged.starts) == [5, 50] and list(merged.ends) == [40, 60]
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
    assert not index.allows("acct", "u", ip("10.0.0.2"))
    assert index.apply("acct", [], revision=3)
    assert index.allows("acct", "u", ip("10.0.0.2"))


def test_unknown_accounts_and_staff_are_unrestricted() -> None:
    index = IpRuleIndex()
    index.load_snapshot([{"account_id": "acct", "revision": 1, "rules": [rule("10.0.0.1", "10.0.0.1")]}])
    assert index.loaded
    assert index.allows("other", "u", ip("198.51.100.1"))
    assert index.allows(None, "staff", ip("198.51.100.1"))
    assert not index.allows("acct", "u", None)


def test_ten_thousand_rules_answer_like_a_scan_would() -> None:
    generator = random.Random(7)
    raw = []
    for _ in range(10_000):
        start = generator.randrange(0, 2**32 - 1000)
        raw.append((start, start + generator.randrange(0, 1000)))
    rules = AccountRules.build([rule(str(ip_address(s)), str(ip_address(e))) for s, e in raw], revision=1)
    for _ in range(500):
        probe = generator.randrange(0, 2**32)
        expected = any(s <= probe <= e for s, e in raw)
        assert rules.allows("u", ip(str(ip_address(probe)))) == expected


@pytest.mark.parametrize("count", [JUMP_TABLE_FROM - 1, JUMP_TABLE_FROM, 5_000])
@pytest.mark.parametrize("bits", [32, 128])
def test_large_interval_sets_answer_like_a_scan(count: int, bits: int) -> None:
    """Sets from JUMP_TABLE_FROM intervals on narrow the search with a jump table first."""
    rng = random.Random(count * bits)
    top = (1 << bits) - 1
    ranges = []
    for _ in range(count):
        start = rng.randrange(top)
        ranges.append((start, min(top, start + rng.randrange(1 << (bits - 14)))))
    ranges += [(0, 3), (top - 2, top)]  # the very ends of the family
    intervals = Intervals.merge(ranges)
    assert (intervals.jump is not None) == (len(intervals) >= JUMP_TABLE_FROM)
    probes = [rng.randrange(top + 1) for _ in range(500)]
    edges = rng.sample(ranges[:-2], 150) + ranges[-2:]
    probes += [v for start, end in edges for v in (start - 1, start, end, end + 1) if 0 <= v <= top]
    for value in probes:
        assert intervals.contains(value) == any(start <= value <= end for start, end in ranges), value


def test_rules_from_event_models_build_like_rules_from_the_snapshot() -> None:
    rules = [
        {"id": "1", "user_id": None, "start_ip": "10.0.0.0", "end_ip": "10.0.0.255", "enabled": True},
        {"id": "2", "user_id": "alice", "start_ip": "2001:db8::", "end_ip": "2001:db8::ff", "enabled": True},
        {"id": "3", "user_id": None, "start_ip": "192.0.2.0", "end_ip": "192.0.2.9", "enabled": False},
    ]
    from_models = AccountRules.from_models([IpRule(**r) for r in rules], revision=4)
    assert from_models == AccountRules.build(rules, revision=4)
    assert allowed(from_models, "alice", "2001:db8::7") and not allowed(from_models, "bob", "192.0.2.5")


@pytest.mark.parametrize(
    ("start", "end"), [("10.0.0.1", "2001:db8::1"), ("10.0.0.1", "nonsense"), ("fe80::1%eth0", "fe80::ffff")]
)
def test_a_rule_that_is_not_a_range_is_refused_not_skipped(start: str, end: str) -> None:
    # Skipping it could leave a user with no rule, that is unrestricted: fail loudly instead.
    with pytest.raises(ValueError, match=r"range|famil"):
        AccountRules.build([rule(start, end)], revision=1)


def test_a_client_address_with_a_zone_index_is_in_no_range() -> None:
    rules = AccountRules.build([rule("fe80::", "fe80::ffff", user_id="alice")], revision=1)
    assert allowed(rules, "alice", "fe80::1")
    assert not rules.allows("alice", parse_address("fe80::1%eth0"))


def test_a_snapshot_built_apart_installs_only_newer_revisions() -> None:
    index = IpRuleIndex()
    index.apply("a", [rule("10.0.0.1", "10.0.0.1")], revision=5)
    built = index.build_newer(
        [
            {"account_id": "a", "revision": 6, "rules": []},
            {"account_id": "b", "revision": 1, "rules": [rule("10.0.0.2", "10.0.0.2")]},
        ]
    )
    # An event brings account a to revision 7 while the snapshot was being built.
    index.apply("a", [rule("10.0.0.3", "10.0.0.3")], revision=7)
    assert index.install_snapshot(built) == 1 and index.loaded
    assert index.revision("a") == 7 and index.revision("b") == 1
    assert index.allows("a", "u", ip("10.0.0.3")) and not index.allows("a", "u", ip("10.0.0.1"))
