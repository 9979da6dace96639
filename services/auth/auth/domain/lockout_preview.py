"""Who a change of the IP rules would lock out (DESIGN.md §10): pure rules, no I/O.

Judged by the addresses each active user logged in from in the last 30 days, with the
rule semantics of `ip_rules.is_allowed`: a user is locked out when none of their recent
addresses would be allowed by the rules as they would be after the change. A user with
no login in the window is not listed: there is nothing to judge them by.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from auth.domain.ip_rules import Rule, client_address, is_allowed

WINDOW = timedelta(days=30)


class PreviewAction(StrEnum):
    ADD = "add"
    UPDATE = "update"  # the rule changed as given, and enabled
    DISABLE = "disable"
    DELETE = "delete"


# The fields each action cannot do without.
REQUIRED: dict[PreviewAction, tuple[str, ...]] = {
    PreviewAction.ADD: ("start_ip", "end_ip"),
    PreviewAction.UPDATE: ("rule_id",),
    PreviewAction.DISABLE: ("rule_id",),
    PreviewAction.DELETE: ("rule_id",),
}


def missing_fields(action: PreviewAction, values: Mapping[str, str | None]) -> list[str]:
    """The fields `action` needs that are absent or null in `values`."""
    return [name for name in REQUIRED[action] if values.get(name) is None]


@dataclass(frozen=True)
class SeenAddress:
    """A user's successful login from `ip`, the latest at `last_seen_at`."""

    user_id: str
    ip: str
    last_seen_at: datetime


@dataclass(frozen=True)
class LockedOut:
    user_id: str
    email: str
    last_seen_ip: str
    last_seen_at: datetime


def rules_after(action: PreviewAction, rules: Sequence[Rule], *, target: Rule) -> list[Rule]:
    """The rules as they would be: `target` is the new or changed rule (add, update) or the one acted on."""
    others = [rule for rule in rules if rule.id != target.id]
    if action is PreviewAction.DELETE:
        return others
    if action is PreviewAction.DISABLE:
        return [*others, replace(target, enabled=False)]
    return [*others, replace(target, enabled=True)]


def locked_out(
    rules: Sequence[Rule], *, users: Iterable[tuple[str, str]], seen: Iterable[SeenAddress]
) -> list[LockedOut]:
    """The `users` (id, email) none of whose recent addresses `rules` allow, each with their latest address."""
    by_user: dict[str, list[SeenAddress]] = {}
    for address in seen:
        by_user.setdefault(address.user_id, []).append(address)
    found = []
    for user_id, email in users:
        recent = by_user.get(user_id, [])
        if recent and not any(is_allowed(rules, user_id=user_id, address=client_address(a.ip)) for a in recent):
            latest = max(recent, key=lambda a: a.last_seen_at)
            found.append(LockedOut(user_id, email, latest.ip, latest.last_seen_at))
    return found
