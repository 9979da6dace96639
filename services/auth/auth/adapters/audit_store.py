"""The `audit_entry` table: the audit log, written in the transaction of what it records."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.tables import audit_entry
from auth.domain.audit import AuditAction
from auth.domain.lockout_preview import SeenAddress
from auth.domain.records import AuditEntry, Caller
from tollgate_shared.pagination import PageParams, fetch_page


def audit_entry_of(row: Row[Any]) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        action=row.action,
        actor_id=row.actor_id,
        actor_email=row.actor_email,
        target_user_id=row.target_user_id,
        target=row.target,
        ip=row.ip,
        details=json.loads(row.details) if row.details else None,
        created_at=row.created_at,
    )


async def record_audit(
    db: AsyncSession,
    *,
    action: AuditAction,
    account_id: str | None,
    actor_id: str | None = None,
    actor_email: str | None = None,
    target_user_id: str | None = None,
    target: str | None = None,
    ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    await db.execute(
        audit_entry.insert().values(
            id=str(uuid.uuid4()),
            account_id=account_id,
            actor_id=actor_id,
            actor_email=actor_email,
            action=action.value,
            target_user_id=target_user_id,
            target=target,
            ip=ip,
            details=json.dumps(details, sort_keys=True) if details else None,
            created_at=datetime.now(UTC),
        )
    )


async def record_admin_action(
    db: AsyncSession,
    admin: Caller,
    *,
    action: AuditAction,
    ip: str,
    target_user_id: str | None = None,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """An administrator's change to their account."""
    await record_audit(
        db,
        action=action,
        account_id=admin.account_id,
        actor_id=admin.user.id,
        actor_email=admin.user.email,
        target_user_id=target_user_id,
        target=target,
        ip=ip,
        details=details,
    )


async def page_of_audit_entries(db: AsyncSession, account_id: str, paging: PageParams) -> tuple[list[AuditEntry], int]:
    """The account's entries, newest first."""
    query = select(audit_entry).where(audit_entry.c.account_id == account_id)
    rows, total = await fetch_page(
        db, query, order_by=[audit_entry.c.created_at.desc(), audit_entry.c.id], paging=paging
    )
    return [audit_entry_of(row) for row in rows], total


async def recent_login_addresses(db: AsyncSession, account_id: str, *, since: datetime) -> list[SeenAddress]:
    """Each (user, address) of the account's successful logins since `since`, with the latest time.

    The audit log already holds every login's address: no second record is written at login.
    """
    latest = func.max(audit_entry.c.created_at)
    query = (
        select(audit_entry.c.actor_id, audit_entry.c.ip, latest.label("last_seen_at"))
        .where(
            audit_entry.c.account_id == account_id,
            audit_entry.c.created_at >= since,
            audit_entry.c.action == AuditAction.LOGIN_SUCCEEDED.value,
            audit_entry.c.actor_id.is_not(None),
            audit_entry.c.ip.is_not(None),
        )
        .group_by(audit_entry.c.actor_id, audit_entry.c.ip)
    )
    rows = (await db.execute(query)).all()
    return [SeenAddress(user_id=row.actor_id, ip=row.ip, last_seen_at=row.last_seen_at) for row in rows]
