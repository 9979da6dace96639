"""After every change of an account's IP rules: a new revision, and the full set of enabled rules published."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.account_store import bump_ip_rules_revision
from auth.adapters.ip_rule_store import account_ip_rules
from auth.domain.records import IpRule
from tollgate_shared.events import models as events
from tollgate_shared.outbox import record_event


def published(rule: IpRule) -> events.IpRule:
    return events.IpRule(
        id=rule.id,
        user_id=rule.user_id,
        start_ip=rule.start_ip,
        end_ip=rule.end_ip,
        description=rule.description,
        enabled=True,
    )


async def publish_ip_rules(db: AsyncSession, account_id: str) -> int:
    """Bump the revision and publish the account's enabled rules, in the change's transaction; the new revision."""
    revision = await bump_ip_rules_revision(db, account_id)
    rules = [published(rule) for rule in await account_ip_rules(db, account_id) if rule.enabled]
    await record_event(
        db, events.IpRulesChanged(account_id=account_id, rules=rules, revision=revision), account_id=account_id
    )
    return revision
