"""The `ip_rule` table: the address ranges an account's users may connect from."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.tables import ip_rule
from auth.domain.records import IpRule


def ip_rule_of(row: Row[Any]) -> IpRule:
    return IpRule(
        id=row.id,
        account_id=row.account_id,
        user_id=row.user_id,
        start_ip=row.start_ip,
        end_ip=row.end_ip,
        description=row.description,
        enabled=bool(row.enabled),
        created_at=row.created_at,
        created_by=row.created_by,
    )


async def account_ip_rules(db: AsyncSession, account_id: str) -> list[IpRule]:
    """The account's rules, newest first."""
    query = (
        select(ip_rule).where(ip_rule.c.account_id == account_id).order_by(ip_rule.c.created_at.desc(), ip_rule.c.id)
    )
    return [ip_rule_of(row) for row in (await db.execute(query)).all()]


async def find_account_ip_rule(db: AsyncSession, account_id: str, rule_id: str) -> IpRule | None:
    query = select(ip_rule).where(ip_rule.c.id == rule_id, ip_rule.c.account_id == account_id)
    row = (await db.execute(query)).first()
    return None if row is None else ip_rule_of(row)


async def enabled_ip_rules(db: AsyncSession) -> list[IpRule]:
    """Every account's enabled rules, oldest first."""
    query = select(ip_rule).where(ip_rule.c.enabled.is_(True)).order_by(ip_rule.c.created_at)
    return [ip_rule_of(row) for row in (await db.execute(query)).all()]


async def insert_ip_rule(db: AsyncSession, rule: IpRule) -> None:
    await db.execute(
        ip_rule.insert().values(
            id=rule.id,
            account_id=rule.account_id,
            user_id=rule.user_id,
            start_ip=rule.start_ip,
            end_ip=rule.end_ip,
            description=rule.description,
            enabled=rule.enabled,
            created_at=rule.created_at,
            created_by=rule.created_by,
            updated_at=rule.created_at,
        )
    )


async def update_ip_rule(db: AsyncSession, rule_id: str, changes: dict[str, bool | str], *, now: datetime) -> None:
    await db.execute(update(ip_rule).where(ip_rule.c.id == rule_id).values(**changes, updated_at=now))


async def delete_ip_rule(db: AsyncSession, rule_id: str) -> None:
    await db.execute(delete(ip_rule).where(ip_rule.c.id == rule_id))
