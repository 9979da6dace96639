"""End the caller's session: its tokens stop working everywhere."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.audit_store import record_audit
from auth.domain.audit import AuditAction
from auth.domain.records import Caller
from auth.domain.sessions import RevocationReason
from auth.use_cases.revoke_sessions import revoke_sessions


async def log_out(db: AsyncSession, caller: Caller, *, ip: str) -> None:
    await revoke_sessions(db, reason=RevocationReason.LOGOUT, session_id=caller.session_id)
    await record_audit(
        db,
        action=AuditAction.LOGOUT,
        account_id=caller.user.account_id,
        actor_id=caller.user.id,
        actor_email=caller.user.email,
        ip=ip,
    )
