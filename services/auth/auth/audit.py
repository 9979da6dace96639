"""The audit log: every security-relevant change and login outcome, in the same transaction."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.tables import audit_entry


async def record_audit(
    session: AsyncSession,
    *,
    action: str,
    account_id: str | None,
    actor_id: str | None = None,
    actor_email: str | None = None,
    target_user_id: str | None = None,
    target: str | None = None,
    ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    await session.execute(
        audit_entry.insert().values(
            id=str(uuid.uuid4()),
            account_id=account_id,
            actor_id=actor_id,
            actor_email=actor_email,
            action=action,
            target_user_id=target_user_id,
            target=target,
            ip=ip,
            details=json.dumps(details, sort_keys=True) if details else None,
            created_at=datetime.now(UTC),
        )
    )


async def record_admin_action(
    session: AsyncSession,
    admin: Any,
    *,
    action: str,
    ip: str,
    target_user_id: str | None = None,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """An administrator's change to their account (`admin` is the calling `Caller`)."""
    await record_audit(
        session,
        action=action,
        account_id=admin.account_id,
        actor_id=admin.user.id,
        actor_email=admin.user.email,
        target_user_id=target_user_id,
        target=target,
        ip=ip,
        details=details,
    )
