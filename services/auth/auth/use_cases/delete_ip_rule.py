"""Delete an IP rule (a change that would lock the administrator out needs confirming)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters import ip_rule_store
from auth.adapters.audit_store import record_admin_action
from auth.domain.audit import AuditAction
from auth.domain.ip_rules import refuse_self_lockout
from auth.domain.records import Caller
from auth.use_cases.publish_ip_rules import publish_ip_rules
from auth.use_cases.read_ip_rules import account_ip_rule


async def delete_ip_rule(db: AsyncSession, admin: Caller, rule_id: str, *, confirm_self_lockout: bool, ip: str) -> None:
    rule = await account_ip_rule(db, admin.account_id, rule_id)
    after = [
        other.rule() for other in await ip_rule_store.account_ip_rules(db, admin.account_id) if other.id != rule_id
    ]
    refuse_self_lockout(after, admin_id=admin.user.id, client_ip=ip, confirmed=confirm_self_lockout)
    await ip_rule_store.delete_ip_rule(db, rule_id)
    revision = await publish_ip_rules(db, admin.account_id)
    await record_admin_action(
        db,
        admin,
        action=AuditAction.IP_RULE_DELETED,
        target_user_id=rule.user_id,
        target=rule.range,
        ip=ip,
        details={"rule_id": rule_id, "revision": revision},
    )
