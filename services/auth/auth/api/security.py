"""The account's security policy: enforce 2FA via TOTP, with a grace to set it up."""

from __future__ import annotations

from fastapi import APIRouter

from auth.api.deps import AccountUserDep, AdminDep
from auth.api.schemas import SecurityPolicy
from auth.use_cases.change_security_policy import change_security_policy
from tollgate_shared.service import EdgeDep, SessionDep

router = APIRouter(prefix="/api/account/security", tags=["security"])


@router.get("")
async def get_policy(caller: AccountUserDep) -> SecurityPolicy:
    """The account's policy (any user of the account)."""
    policy = caller.member_of().totp_policy
    return SecurityPolicy(enforce_totp=policy.enforce, grace_days=policy.grace_days)


@router.put("")
async def put_policy(body: SecurityPolicy, admin: AdminDep, db: SessionDep, edge: EdgeDep) -> SecurityPolicy:
    """Enforce or relax 2FA for the account's next logins, with the days users get to set it up (administrators)."""
    policy = await change_security_policy(
        db, admin, enforce_totp=body.enforce_totp, grace_days=body.grace_days, ip=edge.client_ip
    )
    return SecurityPolicy(enforce_totp=policy.enforce, grace_days=policy.grace_days)
