"""Users of an account: administrators add, list and deactivate them, and reset their 2FA."""

from __future__ import annotations

from fastapi import APIRouter

from auth.api.deps import AdminDep
from auth.api.schemas import UserCreate, UserRead, UserUpdate, user_read
from auth.use_cases import deactivate_user as deactivation
from auth.use_cases import read_users
from auth.use_cases import reset_totp as resetting
from auth.use_cases.add_user import add_account_user
from tollgate_shared.openapi import problems
from tollgate_shared.pagination import Page, PageDep
from tollgate_shared.service import EdgeDep, SessionDep

router = APIRouter(prefix="/api/account/users", tags=["users"])


@router.get("")
async def list_users(admin: AdminDep, db: SessionDep, paging: PageDep) -> Page[UserRead]:
    """The account's users, newest first."""
    users, total = await read_users.list_users(db, admin.account_id, paging)
    policy = admin.member_of().totp_policy
    return Page(items=[user_read(u, policy) for u in users], total=total, page=paging.page, page_size=paging.page_size)


@router.post("", status_code=201, responses=problems(409))
async def create_user(body: UserCreate, admin: AdminDep, db: SessionDep, edge: EdgeDep) -> UserRead:
    """Add a user (`admin` or `user`) to the account."""
    created = await add_account_user(
        db, admin, email=str(body.email), password=body.password, role=body.role, ip=edge.client_ip
    )
    return user_read(created, admin.member_of().totp_policy)


@router.get("/{user_id}")
async def get_user(user_id: str, admin: AdminDep, db: SessionDep) -> UserRead:
    """One user of the account."""
    return user_read(await read_users.account_user(db, admin.account_id, user_id), admin.member_of().totp_policy)


@router.patch("/{user_id}", responses=problems(409))
async def deactivate_user(user_id: str, body: UserUpdate, admin: AdminDep, db: SessionDep, edge: EdgeDep) -> UserRead:
    """Deactivate a user (`{active: false}`): no more logins, every session revoked."""
    deactivated = await deactivation.deactivate_user(db, admin, user_id=user_id, ip=edge.client_ip)
    return user_read(deactivated, admin.member_of().totp_policy)


@router.delete("/{user_id}/totp", responses=problems(409))
async def reset_totp(user_id: str, admin: AdminDep, db: SessionDep, edge: EdgeDep) -> UserRead:
    """Reset a user's 2FA: their seed and recovery codes are gone; enforcement makes them enrol again."""
    reset = await resetting.reset_totp(db, admin, user_id=user_id, ip=edge.client_ip)
    return user_read(reset, admin.member_of().totp_policy)
