"""Before an IP rule is added, changed, disabled or deleted: whom the change would lock out. Changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.audit_store import recent_login_addresses
from auth.adapters.ip_rule_store import account_ip_rules
from auth.adapters.user_store import active_account_users, find_account_user
from auth.domain.errors import MissingFields
from auth.domain.ip_rules import InvalidRule, Rule, client_address, is_allowed, validated_range
from auth.domain.lockout_preview import WINDOW, LockedOut, PreviewAction, locked_out, missing_fields, rules_after
from auth.domain.records import Caller, IpRule
from auth.use_cases.read_ip_rules import account_ip_rule
from tollgate_shared.errors import InvalidField, NotFound

NEW_RULE_ID = "new"


@dataclass(frozen=True)
class ProposedChange:
    action: PreviewAction
    given: frozenset[str]  # the fields the request named: user_id named as null means all users
    rule_id: str | None = None
    start_ip: str | None = None
    end_ip: str | None = None
    user_id: str | None = None


@dataclass(frozen=True)
class LockoutPreview:
    locked_out: list[LockedOut]
    you_are_locked_out: bool


async def preview_ip_rule_change(db: AsyncSession, admin: Caller, change: ProposedChange, *, ip: str) -> LockoutPreview:
    values = {"rule_id": change.rule_id, "start_ip": change.start_ip, "end_ip": change.end_ip}
    missing = missing_fields(change.action, values)
    if missing:
        raise MissingFields(missing)
    target = await _target(db, admin, change)
    rules = [rule.rule() for rule in await account_ip_rules(db, admin.account_id)]
    after = rules_after(change.action, rules, target=target)
    users = [(user.id, user.email) for user in await active_account_users(db, admin.account_id)]
    seen = await recent_login_addresses(db, admin.account_id, since=datetime.now(UTC) - WINDOW)
    return LockoutPreview(
        locked_out=locked_out(after, users=users, seen=seen),
        you_are_locked_out=not is_allowed(after, user_id=admin.user.id, address=client_address(ip)),
    )


async def _target(db: AsyncSession, admin: Caller, change: ProposedChange) -> Rule:
    """The rule the action is about, as it would be: new, the stored one changed as given, or the stored one."""
    stored = None
    if change.action is not PreviewAction.ADD and change.rule_id is not None:
        stored = await account_ip_rule(db, admin.account_id, change.rule_id)
    if change.user_id is not None and await find_account_user(db, admin.account_id, change.user_id) is None:
        raise NotFound("No such user.")
    if change.action in (PreviewAction.DISABLE, PreviewAction.DELETE):
        assert stored is not None
        return stored.rule()
    return _changed(stored, change)


def _changed(stored: IpRule | None, change: ProposedChange) -> Rule:
    start_ip = change.start_ip if change.start_ip is not None else stored.start_ip if stored else ""
    end_ip = change.end_ip if change.end_ip is not None else stored.end_ip if stored else ""
    try:
        start, end = validated_range(start_ip, end_ip)
    except InvalidRule as exc:
        raise InvalidField(exc.field, str(exc)) from None
    user_id = change.user_id if "user_id" in change.given or stored is None else stored.user_id
    return Rule(id=stored.id if stored else NEW_RULE_ID, user_id=user_id, start=start, end=end, enabled=True)
