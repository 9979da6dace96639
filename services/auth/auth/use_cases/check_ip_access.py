"""Whether a user may act from an address: the account's enabled rules, as the domain says."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.ip_rule_store import account_ip_rules
from auth.domain.errors import IpNotAllowed
from auth.domain.ip_rules import client_address, is_allowed
from auth.domain.records import User


async def may_connect(db: AsyncSession, *, user: User, ip: str) -> bool:
    """Staff belong to no account and have no rules; users answer to their account's."""
    if user.account_id is None:
        return True
    rules = [rule.rule() for rule in await account_ip_rules(db, user.account_id)]
    return is_allowed(rules, user_id=user.id, address=client_address(ip))


async def refuse_unless_allowed(db: AsyncSession, *, user: User, ip: str) -> None:
    if not await may_connect(db, user=user, ip=ip):
        raise IpNotAllowed(ip)
