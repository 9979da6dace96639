"""Allow a range of addresses, for one user of the account or for all of them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.audit_store import record_admin_action
from auth.adapters.ip_rule_store import account_ip_rules, insert_ip_rule
from auth.adapters.user_store import find_account_user
from auth.domain.audit import AuditAction
from auth.domain.ip_rules import refuse_self_lockout, validated_range
from auth.domain.records import Caller, IpRule
from auth.use_cases.publish_ip_rules import publish_ip_rules
from auth.use_cases.read_ip_rules import account_ip_rule
from tollgate_shared.errors import FieldChecks


@dataclass(frozen=True)
class NewIpRule:
    user_id: str | None  # None: every user of the account
    start_ip: str
    end_ip: str
    description: str
    enabled: bool
    confirm_self_lockout: bool


async def create_ip_rule(db: AsyncSession, admin: Caller, new: NewIpRule, *, ip: str) -> IpRule:
    checks = FieldChecks()  # every wrong field in one answer
    addresses = checks.run(validated_range, new.start_ip, new.end_ip)
    if new.user_id is not None and await find_account_user(db, admin.account_id, new.user_id) is None:
        checks.add("user_id", "is not a user of this account")
    checks.raise_if_any()
    assert addresses is not None
    start, end = addresses
    now = datetime.now(UTC)
    rule = IpRule(
        id=str(uuid.uuid4()),
        account_id=admin.account_id,
        user_id=new.user_id,
        start_ip=str(start),
        end_ip=str(end),
        description=new.description,
        enabled=new.enabled,
        created_at=now,
        created_by=admin.user.id,
    )
    existing = [other.rule() for other in await account_ip_rules(db, admin.account_id)]
    refuse_self_lockout(
        [*existing, rule.rule()], admin_id=admin.user.id, client_ip=ip, confirmed=new.confirm_self_lockout
    )
    await insert_ip_rule(db, rule)
    revision = await publish_ip_rules(db, admin.account_id)
    await record_admin_action(
        db,
        admin,
        action=AuditAction.IP_RULE_CREATED,
        target_user_id=rule.user_id,
        target=rule.range,
        ip=ip,
        details={"rule_id": rule.id, "revision": revision},
    )
    return await account_ip_rule(db, admin.account_id, rule.id)
