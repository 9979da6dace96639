"""The account's security policy: enforce 2FA via TOTP."""

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
    return SecurityPolicy(enforce_totp=caller.member_of().enforce_totp)


@router.put("")
async def put_policy(body: SecurityPolicy, admin: AdminDep, db: SessionDep, edge: EdgeDep) -> SecurityPolicy:
    """Enforce or relax 2FA for the account's next logins (administrators)."""
    enforced = await change_security_policy(db, admin, enforce_totp=body.enforce_totp, ip=edge.client_ip)
    return SecurityPolicy(enforce_totp=enforced)
