"""Enforce or relax 2FA for an account's next logins, with the grace users get to enrol."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.account_store import set_totp_policy
from auth.adapters.audit_store import record_admin_action
from auth.domain.audit import policy_change
from auth.domain.records import Caller
from auth.domain.totp_grace import TotpPolicy, changed_policy
from tollgate_shared.events.models import SecurityPolicyChanged
from tollgate_shared.outbox import record_event


async def change_security_policy(
    db: AsyncSession, admin: Caller, *, enforce_totp: bool, grace_days: int, ip: str
) -> TotpPolicy:
    """The policy now in force; a change is audited (and published when enforcement flips), the same
    policy again is neither and keeps its grace's start."""
    account = admin.member_of()
    current = account.totp_policy
    wanted = changed_policy(current, enforce=enforce_totp, grace_days=grace_days, now=datetime.now(UTC))
    if wanted == current:
        return current
    await set_totp_policy(db, account.id, wanted)
    action = policy_change(enforce_totp, was_enforced=current.enforce)
    await record_admin_action(db, admin, action=action, ip=ip, details={"grace_days": grace_days})
    if current.enforce != enforce_totp:
        await record_event(
            db, SecurityPolicyChanged(enforce_totp=enforce_totp, changed_by=admin.user.id), account_id=account.id
        )
    return wanted
