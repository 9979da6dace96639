"""Reset a user's 2FA: their seed and recovery codes are gone; enforcement makes them enrol again."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.audit_store import record_admin_action
from auth.adapters.recovery_code_store import delete_recovery_codes
from auth.adapters.user_store import forget_totp
from auth.domain.audit import AuditAction
from auth.domain.records import Caller, User
from auth.domain.sessions import RevocationReason
from auth.domain.users import refuse_acting_on_self
from auth.use_cases.read_users import account_user
from auth.use_cases.revoke_sessions import revoke_sessions


async def reset_totp(db: AsyncSession, admin: Caller, *, user_id: str, ip: str) -> User:
    """The user as they are after the reset."""
    target = await account_user(db, admin.account_id, user_id)
    refuse_acting_on_self(admin.user.id, target.id, advice="Ask another administrator to reset your 2FA.")
    await forget_totp(db, target.id)
    await delete_recovery_codes(db, target.id)
    await revoke_sessions(db, reason=RevocationReason.TOTP_RESET, user_id=target.id)
    await record_admin_action(
        db, admin, action=AuditAction.TOTP_RESET, target_user_id=target.id, target=target.email, ip=ip
    )
    return await account_user(db, admin.account_id, user_id)
