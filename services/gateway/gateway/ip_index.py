"""Every account's IP rules in memory, ready for a decision in O(log n).

Per account, the enabled all-users ranges and each user's own ranges are
folded into sorted, non-overlapping intervals per address family; a decision
is a binary search in the all-users intervals and one in the user's own. A
user to whom no rule applies is unrestricted (DESIGN.md §1).

Rules are parsed with `parse_ip` (inet_pton), and a built account is immutable:
it can be built off the event loop and swapped in whole.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from gateway.client_address import Address, ip_number

# From this many intervals on, a jump table narrows the binary search first (see `Intervals`).
JUMP_TABLE_FROM = 256


class RuleLike(Protocol):
    """An `IpRule` of the event contract (the snapshot's rules are plain mappings)."""

    user_id: str | None
    start_ip: str
    end_ip: str
    enabled: bool


@dataclass(frozen=True, slots=True)
class Intervals:
    """Sorted, disjoint, non-adjacent closed intervals of one address family.

    Large sets carry a jump table: bucket b of the values from `base` (the first
    start) on, each `1 << shift` wide, answers the first interval starting in it,
    so the binary search runs over the one or two intervals of a bucket. A bare
    search over 55,000 intervals walks 16 levels of Python ints scattered over the
    heap, missing the CPU cache at most of them; for the same reason large sets
    keep their bounds in arrays when they fit 64 bits (IPv4 always does).
    """

    starts: Sequence[int] = ()
    ends: Sequence[int] = ()
    jump: Sequence[int] | None = None
    base: int = 0
    shift: int = 0

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
        if len(starts) < JUMP_TABLE_FROM:
            return cls(tuple(starts), tuple(ends))
        base, span = starts[0], ends[-1] - starts[0]
        shift = max(0, span.bit_length() - len(starts).bit_length())  # about as many buckets as intervals
        jump = array("I", [bisect_left(starts, base + (b << shift)) for b in range((span >> shift) + 2)])
        if ends[-1] < 1 << 64:
            return cls(array("Q", starts), array("Q", ends), jump, base, shift)
        return cls(tuple(starts), tuple(ends), jump, base, shift)

    def contains(self, value: int) -> bool:
        jump = self.jump
        if jump is None:
            index = bisect_right(self.starts, value) - 1
        else:
            bucket = (value - self.base) >> self.shift
            if bucket < 0 or bucket >= len(jump) - 1:
                return False  # before the first interval or past the last
            index = bisect_right(self.starts, value, jump[bucket], jump[bucket + 1]) - 1
        return index >= 0 and value <= self.ends[index]

    def __len__(self) -> int:
        return len(self.starts)


Families = dict[int, Intervals]  # 4 or 6 → intervals
Span = tuple[int, int, int]  # family, first, last


def _families(spans: Iterable[Span]) -> Families:
    by_family: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
    for family, first, last in spans:
        by_family[family].append((first, last))
    return {family: Intervals.merge(values) for family, values in by_family.items() if values}


def _span(start_ip: str, end_ip: str) -> Span:
    start, end = ip_number(start_ip.strip()), ip_number(end_ip.strip())
    if start is None or end is None:
        raise ValueError(f"not an IP address range: {start_ip!r}-{end_ip!r}")
    if start[0] != end[0]:
        raise ValueError(f"the ends of {start_ip}-{end_ip} are of different families")
    return start[0], start[1], end[1]


@dataclass(frozen=True)
class AccountRules:
    revision: int
    everyone: Families | None  # None: no all-users rule is enabled
    # Each user's own ranges only: the all-users ranges are searched separately,
    # so 100 users with a rule each do not carry 100 copies of a large shared set.
    own: dict[str, Families] = field(default_factory=dict)

    @classmethod
    def build(cls, rules: Iterable[Mapping[str, Any]], revision: int) -> AccountRules:
        """From rules as auth's snapshot lists them (mappings)."""
        return cls._build(
            ((r.get("user_id"), r["start_ip"], r["end_ip"]) for r in rules if r.get("enabled", True)), revision
        )

    @classmethod
    def from_models(cls, rules: Iterable[RuleLike], revision: int) -> AccountRules:
        """From the validated rules of an `auth.ip_rules.changed` event, without dumping them."""
        return cls._build(((r.user_id, r.start_ip, r.end_ip) for r in rules if r.enabled), revision)

    @classmethod
    def _build(cls, rules: Iterable[tuple[str | None, str, str]], revision: int) -> AccountRules:
        shared: list[Span] = []
        own: dict[str, list[Span]] = {}
        for user_id, start_ip, end_ip in rules:
            span = _span(start_ip, end_ip)
            if user_id is None:
                shared.append(span)
            else:
                own.setdefault(user_id, []).append(span)
        everyone = _families(shared) if shared else None
        return cls(revision=revision, everyone=everyone, own={user: _families(s) for user, s in own.items()})

    def allows(self, user_id: str, address: Address | None) -> bool:
        users_own = self.own.get(user_id)
        if users_own is None and self.everyone is None:
            return True  # no enabled rule applies to this user
        if address is None:
            return False
        # Plain ifs: this runs on every authenticated request (a generator cost ~1 µs more).
        if users_own is not None:
            intervals = users_own.get(address.version)
            if intervals is not None and intervals.contains(address.value):
                return True
        if self.everyone is not None:
            intervals = self.everyone.get(address.version)
            if intervals is not None and intervals.contains(address.value):
                return True
        return False


class IpRuleIndex:
    """All accounts; replaced account by account, only by newer revisions.

    Building is separate from installing: `install` (and `apply`, which does
    both) runs on the event loop and swaps an account's rules in one assignment,
    while the build of a large account may run in a thread beforehand.
    """

    def __init__(self) -> None:
        self.accounts: dict[str, AccountRules] = {}
        self.loaded = False

    def revision(self, account_id: str) -> int:
        current = self.accounts.get(account_id)
        return current.revision if current else 0

    def install(self, account_id: str, rules: AccountRules) -> bool:
        """Take built rules if their revision is newer than what we hold."""
        if rules.revision <= self.revision(account_id):
            return False
        self.accounts[account_id] = rules
        return True

    def apply(self, account_id: str, rules: Iterable[Mapping[str, Any]], revision: int) -> bool:
        """Build and take the account's rules if `revision` is newer than what we hold."""
        if revision <= self.revision(account_id):
            return False
        return self.install(account_id, AccountRules.build(rules, revision))

    def build_newer(self, accounts: Iterable[Mapping[str, Any]]) -> list[tuple[str, AccountRules]]:
        """The accounts of a snapshot that are newer than what we hold, built (may run in a thread)."""
        return [
            (a["account_id"], AccountRules.build(a["rules"], a["revision"]))
            for a in accounts
            if a["revision"] > self.revision(a["account_id"])
        ]

    def install_snapshot(self, built: Iterable[tuple[str, AccountRules]]) -> int:
        """Install what `build_newer` built; answers how many accounts changed."""
        changed = sum(self.install(account_id, rules) for account_id, rules in built)
        self.loaded = True
        return changed

    def load_snapshot(self, accounts: Iterable[Mapping[str, Any]]) -> int:
        """A full snapshot from auth, built and installed at once; answers how many accounts changed."""
        return self.install_snapshot(self.build_newer(accounts))

    def allows(self, account_id: str | None, user_id: str, address: Address | None) -> bool:
        rules = self.accounts.get(account_id) if account_id else None
        return rules is None or rules.allows(user_id, address)
