"""Enable, disable or describe an IP rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.audit_store import record_admin_action
from auth.adapters.ip_rule_store import account_ip_rules, update_ip_rule
from auth.domain.audit import AuditAction
from auth.domain.ip_rules import refuse_self_lockout
from auth.domain.records import Caller, IpRule
from auth.use_cases.publish_ip_rules import publish_ip_rules
from auth.use_cases.read_ip_rules import account_ip_rule


@dataclass(frozen=True)
class IpRuleChange:
    enabled: bool | None  # None: unchanged
    description: str | None  # None: unchanged
    confirm_self_lockout: bool

    def changes_to(self, rule: IpRule) -> dict[str, bool | str]:
        """The columns that would change; empty when the change changes nothing."""
        changes: dict[str, bool | str] = {}
        if self.enabled is not None and self.enabled != rule.enabled:
            changes["enabled"] = self.enabled
        if self.description is not None and self.description != rule.description:
            changes["description"] = self.description
        return changes


async def change_ip_rule(db: AsyncSession, admin: Caller, rule_id: str, change: IpRuleChange, *, ip: str) -> IpRule:
    """The rule as it is afterwards; a change that changes nothing is neither published nor audited."""
    rule = await account_ip_rule(db, admin.account_id, rule_id)
    changes = change.changes_to(rule)
    if changes:
        enabled = change.enabled if "enabled" in changes else None
        after = [
            other.rule(enabled=enabled) if other.id == rule_id else other.rule()
            for other in await account_ip_rules(db, admin.account_id)
        ]
        refuse_self_lockout(after, admin_id=admin.user.id, client_ip=ip, confirmed=change.confirm_self_lockout)
        await update_ip_rule(db, rule_id, changes, now=datetime.now(UTC))
        revision = await publish_ip_rules(db, admin.account_id)
        await record_admin_action(
            db,
            admin,
            action=AuditAction.IP_RULE_CHANGED,
            target_user_id=rule.user_id,
            target=rule.range,
            ip=ip,
            details={"rule_id": rule_id, "revision": revision, **changes},
        )
    return await account_ip_rule(db, admin.account_id, rule_id)
