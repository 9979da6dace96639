"""The `account` table: accounts, their 2FA policy and their IP rules' revision."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.tables import account
from auth.domain.records import Account
from auth.domain.totp_grace import TotpPolicy

# The label prefix of the account's columns where a statement selects them beside another table's.
ACCOUNT_PREFIX = "account__"  # not "account_": user.account_id would clash with account.id


def account_of(row: Row[Any], *, prefix: str = "") -> Account:
    """The account in `row`, whose account columns are named `prefix` + the column's name."""
    values = row._mapping
    return Account(
        id=values[prefix + "id"],
        name=values[prefix + "name"],
        enforce_totp=bool(values[prefix + "enforce_totp"]),
        ip_rules_revision=int(values[prefix + "ip_rules_revision"]),
        created_at=values[prefix + "created_at"],
        totp_grace_days=int(values[prefix + "totp_grace_days"]),
        totp_policy_since=values[prefix + "totp_policy_since"],
    )


async def insert_account(db: AsyncSession, *, account_id: str, name: str, now: datetime) -> Account:
    await db.execute(
        account.insert().values(id=account_id, name=name, enforce_totp=False, ip_rules_revision=0, created_at=now)
    )
    return Account(id=account_id, name=name, enforce_totp=False, ip_rules_revision=0, created_at=now)


async def find_account(db: AsyncSession, account_id: str) -> Account | None:
    row = (await db.execute(select(account).where(account.c.id == account_id))).first()
    return None if row is None else account_of(row)


async def totp_policy(db: AsyncSession, account_id: str | None) -> TotpPolicy | None:
    """The account's 2FA policy (staff have no account: None, no query)."""
    if account_id is None:
        return None
    columns = (account.c.enforce_totp, account.c.totp_grace_days, account.c.totp_policy_since)
    row = (await db.execute(select(*columns).where(account.c.id == account_id))).first()
    if row is None:
        return None
    return TotpPolicy(enforce=bool(row.enforce_totp), grace_days=int(row.totp_grace_days), since=row.totp_policy_since)


async def set_totp_policy(db: AsyncSession, account_id: str, policy: TotpPolicy) -> None:
    await db.execute(
        update(account)
        .where(account.c.id == account_id)
        .values(enforce_totp=policy.enforce, totp_grace_days=policy.grace_days, totp_policy_since=policy.since)
    )


async def bump_ip_rules_revision(db: AsyncSession, account_id: str) -> int:
    """The account's next revision of its IP rules (the row stays locked until commit)."""
    revision = await db.scalar(
        update(account)
        .where(account.c.id == account_id)
        .values(ip_rules_revision=account.c.ip_rules_revision + 1)
        .returning(account.c.ip_rules_revision)
    )
    assert revision is not None
    return int(revision)


async def ip_rules_revisions(db: AsyncSession) -> dict[str, int]:
    """Every account's revision of its IP rules."""
    rows = (await db.execute(select(account.c.id, account.c.ip_rules_revision))).all()
    return {row.id: int(row.ip_rules_revision) for row in rows}
