"""Whether a user may act from an address: the account's enabled rules, as the domain says."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.tables import ip_rule
from auth.domain.ip_rules import InvalidRule, Rule, is_allowed, parse_ip


def rule_of(row: Any) -> Rule:
    return Rule(
        id=row.id,
        user_id=row.user_id,
        start=parse_ip(row.start_ip, field="start_ip"),
        end=parse_ip(row.end_ip, field="end_ip"),
        enabled=row.enabled,
    )


async def account_rules(db: AsyncSession, account_id: str) -> list[Any]:
    query = (
        select(ip_rule).where(ip_rule.c.account_id == account_id).order_by(ip_rule.c.created_at.desc(), ip_rule.c.id)
    )
    return list((await db.execute(query)).all())


async def may_connect(db: AsyncSession, *, user: Any, ip: str) -> bool:
    """Staff belong to no account and have no rules; users answer to their account's."""
    if user.account_id is None:
        return True
    try:
        address = parse_ip(ip, field="ip")
    except InvalidRule:
        address = None
    rules = [rule_of(row) for row in await account_rules(db, user.account_id)]
    return is_allowed(rules, user_id=user.id, address=address)
