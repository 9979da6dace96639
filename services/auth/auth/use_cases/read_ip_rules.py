"""Reading IP rules: an account's, for its administrators; everyone's, for the gateway's snapshot."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.account_store import ip_rules_revisions
from auth.adapters.ip_rule_store import account_ip_rules, enabled_ip_rules, find_account_ip_rule
from auth.domain.records import IpRule
from tollgate_shared.errors import NotFound


@dataclass(frozen=True)
class AccountRules:
    account_id: str
    revision: int
    rules: list[IpRule]  # enabled ones, oldest first


async def list_ip_rules(db: AsyncSession, account_id: str) -> list[IpRule]:
    """The account's rules, newest first."""
    return await account_ip_rules(db, account_id)


async def account_ip_rule(db: AsyncSession, account_id: str, rule_id: str) -> IpRule:
    rule = await find_account_ip_rule(db, account_id, rule_id)
    if rule is None:
        raise NotFound("No such rule.")
    return rule


async def ip_rules_snapshot(db: AsyncSession) -> list[AccountRules]:
    """Every account that ever had rules, with its enabled rules and revision: the gateway's starting point."""
    revisions = await ip_rules_revisions(db)
    rules: dict[str, list[IpRule]] = {account_id: [] for account_id in revisions}
    for rule in await enabled_ip_rules(db):
        rules[rule.account_id].append(rule)
    return [
        AccountRules(account_id=account_id, revision=revision, rules=rules[account_id])
        for account_id, revision in revisions.items()
        if revision > 0
    ]
