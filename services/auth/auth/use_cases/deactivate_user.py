"""Deactivate a user: no more logins, every session revoked (final; the history stays)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters import user_store
from auth.adapters.audit_store import record_admin_action
from auth.domain.audit import AuditAction
from auth.domain.records import Caller, User
from auth.domain.sessions import RevocationReason
from auth.domain.users import refuse_acting_on_self
from auth.use_cases.read_users import account_user
from auth.use_cases.revoke_sessions import revoke_sessions


async def deactivate_user(db: AsyncSession, admin: Caller, *, user_id: str, ip: str) -> User:
    """The user as they are now; deactivating an inactive user again changes nothing."""
    target = await account_user(db, admin.account_id, user_id)
    refuse_acting_on_self(admin.user.id, target.id, advice="Ask another administrator to deactivate you.")
    if target.active:
        await user_store.deactivate_user(db, target.id, now=datetime.now(UTC))
        await revoke_sessions(db, reason=RevocationReason.DEACTIVATED, user_id=target.id)
        await record_admin_action(
            db, admin, action=AuditAction.USER_DEACTIVATED, target_user_id=target.id, target=target.email, ip=ip
        )
    return await account_user(db, admin.account_id, user_id)
