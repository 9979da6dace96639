"""Enforce or relax 2FA for an account's next logins."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.account_store import set_enforce_totp
from auth.adapters.audit_store import record_admin_action
from auth.domain.audit import policy_change
from auth.domain.records import Caller
from tollgate_shared.events.models import SecurityPolicyChanged
from tollgate_shared.outbox import record_event


async def change_security_policy(db: AsyncSession, admin: Caller, *, enforce_totp: bool, ip: str) -> bool:
    """The policy now in force; a change is audited and published, the same policy again is not."""
    account = admin.member_of()
    if account.enforce_totp != enforce_totp:
        await set_enforce_totp(db, account.id, enforce_totp)
        await record_admin_action(db, admin, action=policy_change(enforce_totp), ip=ip)
        await record_event(
            db, SecurityPolicyChanged(enforce_totp=enforce_totp, changed_by=admin.user.id), account_id=account.id
        )
    return enforce_totp
