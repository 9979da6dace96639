"""The account's security policy: enforce 2FA via TOTP."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import update

from auth.adapters.tables import account
from auth.api.deps import AccountUserDep, AdminDep
from auth.api.schemas import SecurityPolicy
from auth.audit import record_admin_action
from tollgate_shared.events.models import SecurityPolicyChanged
from tollgate_shared.outbox import record_event
from tollgate_shared.service import EdgeDep, SessionDep

router = APIRouter(prefix="/api/account/security", tags=["security"])


@router.get("")
async def get_policy(caller: AccountUserDep) -> SecurityPolicy:
    """The account's policy (any user of the account)."""
    return SecurityPolicy(enforce_totp=bool(caller.account.enforce_totp))


@router.put("")
async def put_policy(body: SecurityPolicy, admin: AdminDep, db: SessionDep, edge: EdgeDep) -> SecurityPolicy:
    """Enforce or relax 2FA for the account's next logins (administrators)."""
    if bool(admin.account.enforce_totp) != body.enforce_totp:
        await db.execute(update(account).where(account.c.id == admin.account_id).values(enforce_totp=body.enforce_totp))
        await record_admin_action(
            db,
            admin,
            action="security.totp_enforced" if body.enforce_totp else "security.totp_relaxed",
            ip=edge.client_ip,
        )
        await record_event(
            db,
            SecurityPolicyChanged(enforce_totp=body.enforce_totp, changed_by=admin.user.id),
            account_id=admin.account_id,
        )
    return body
