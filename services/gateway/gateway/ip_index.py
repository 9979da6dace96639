"""Every account's IP rules in memory, ready for a decision in O(log n).

Per account, the enabled ranges that apply to each user (the all-users ranges
merged with the user's own) are folded into sorted, non-overlapping intervals
per address family; a decision is one binary search. A user to whom no rule
applies is unrestricted (DESIGN.md §1).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any

IPAddress = IPv4Address | IPv6Address


def _address(text: str) -> IPAddress:
    address = ip_address(text)
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@dataclass(frozen=True)
class Intervals:
    """Sorted, disjoint, non-adjacent closed intervals of one address family."""

    starts: tuple[int, ...] = ()
    ends: tuple[int, ...] = ()

    @classmethod
    def merge(cls, ranges: Iterable[tuple[int, int]]) -> Intervals:
        starts: list[int] = []
        ends: list[int] = []
        for start, end in sorted(ranges):
            if ends and start <= ends[-1] + 1:  # overlapping or adjacent: one interval
                ends[-1] = max(ends[-1], end)
            else:
                starts.append(start)
                ends.append(end)
        return cls(tuple(starts), tuple(ends))

    def contains(self, value: int) -> bool:
        index = bisect_right(self.starts, value) - 1
        return index >= 0 and value <= self.ends[index]

    def __len__(self) -> int:
        return len(self.starts)


Families = Mapping[int, Intervals]  # 4 or 6 → intervals


def _families(ranges: Iterable[tuple[IPAddress, IPAddress]]) -> dict[int, Intervals]:
    by_family: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
    for start, end in ranges:
        by_family[start.version].append((int(start), int(end)))
    return {family: Intervals.merge(values) for family, values in by_family.items() if values}


@dataclass(frozen=True)
class AccountRules:
    revision: int
    everyone: dict[int, Intervals] | None  # None: no all-users rule is enabled
    # Each user's own ranges only: the all-users ranges are searched separately,
    # so 100 users with a rule each do not carry 100 copies of a large shared set.
    own: dict[str, dict[int, Intervals]] = field(default_factory=dict)

    @classmethod
    def build(cls, rules: Iterable[Mapping[str, Any]], revision: int) -> AccountRules:
        shared: list[tuple[IPAddress, IPAddress]] = []
        own: dict[str, list[tuple[IPAddress, IPAddress]]] = {}
        for rule in rules:
            if not rule.get("enabled", True):
                continue
            span = (_address(rule["start_ip"]), _address(rule["end_ip"]))
            if rule.get("user_id") is None:
                shared.append(span)
            else:
                own.setdefault(rule["user_id"], []).append(span)
        everyone = _families(shared) if shared else None
        return cls(
            revision=revision, everyone=everyone, own={user_id: _families(spans) for user_id, spans in own.items()}
        )

    def allows(self, user_id: str, address: IPAddress | None) -> bool:
        users_own = self.own.get(user_id)
        if users_own is None and self.everyone is None:
            return True  # no enabled rule applies to this user
        if address is None:
            return False
        # Plain ifs: this runs on every authenticated request (a generator cost ~1 µs more).
        value = int(address)
        if users_own is not None:
            intervals = users_own.get(address.version)
            if intervals is not None and intervals.contains(value):
                return True
        if self.everyone is not None:
            intervals = self.everyone.get(address.version)
            if intervals is not None and intervals.contains(value):
                return True
        return False


class IpRuleIndex:
    """All accounts; replaced account by account, only by newer revisions."""

    def __init__(self) -> None:
        self.accounts: dict[str, AccountRules] = {}
        self.loaded = False

    def revision(self, account_id: str) -> int:
        current = self.accounts.get(account_id)
        return current.revision if current else 0

    def apply(self, account_id: str, rules: Iterable[Mapping[str, Any]], revision: int) -> bool:
        """Take the account's rules if `revision` is newer than what we hold."""
        if revision <= self.revision(account_id):
            return False
        self.accounts[account_id] = AccountRules.build(rules, revision)
        return True

    def load_snapshot(self, accounts: Iterable[Mapping[str, Any]]) -> int:
        """A full snapshot from auth; answers how many accounts changed."""
        changed = sum(self.apply(a["account_id"], a["rules"], a["revision"]) for a in accounts)
        self.loaded = True
        return changed

    def allows(self, account_id: str | None, user_id: str, address: IPAddress | None) -> bool:
        rules = self.accounts.get(account_id) if account_id else None
        return rules is None or rules.allows(user_id, address)
