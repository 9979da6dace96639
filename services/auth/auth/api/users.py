"""Users of an account: administrators add, list and deactivate them, and reset their 2FA."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.tables import recovery_code, user
from auth.api.deps import AdminDep
from auth.api.schemas import UserCreate, UserRead, UserUpdate
from auth.audit import record_admin_action
from auth.domain.emails import normalised_email
from auth.domain.passwords import WeakPassword, check_password_policy, hash_password
from auth.sessions import revoke_sessions
from tollgate_shared.errors import Conflict, DomainError, InvalidField, NotFound
from tollgate_shared.events.models import UserCreated
from tollgate_shared.openapi import problems
from tollgate_shared.outbox import record_event
from tollgate_shared.pagination import Page, PageDep, fetch_page
from tollgate_shared.service import EdgeDep, SessionDep

router = APIRouter(prefix="/api/account/users", tags=["users"])


class EmailTaken(Conflict):
    code, title = "email_taken", "This email already has an account"


class NotOnYourself(DomainError):
    status, code, title = 409, "not_on_yourself", "Administrators cannot do this to themselves"


def user_read(row: Any) -> UserRead:
    return UserRead(
        id=row.id,
        email=row.email,
        role=row.role,
        active=row.active,
        totp_enrolled=row.totp_secret is not None,
        created_at=row.created_at,
    )


async def add_user(db: AsyncSession, *, account_id: str | None, email: str, password: str, role: str) -> UserRead:
    """Create a user (policy-checked password, argon2id hash) and publish `auth.user.created`."""
    email = normalised_email(email)
    try:
        check_password_policy(password, email=email)
    except WeakPassword as exc:
        raise InvalidField("password", str(exc)) from None
    if (await db.execute(select(user.c.id).where(user.c.email == email))).first():
        raise EmailTaken()
    now = datetime.now(UTC)
    user_id = str(uuid.uuid4())
    await db.execute(
        user.insert().values(
            id=user_id,
            account_id=account_id,
            email=email,
            password_hash=await hash_password(password),
            role=role,
            active=True,
            created_at=now,
        )
    )
    if account_id is not None:
        await record_event(db, UserCreated(user_id=user_id, role=role), account_id=account_id)
    return UserRead(id=user_id, email=email, role=role, active=True, totp_enrolled=False, created_at=now)


async def user_of_account(db: AsyncSession, account_id: str, user_id: str) -> Any:
    """The user, if it belongs to the account; another account's user is a 404."""
    row = (await db.execute(select(user).where(user.c.id == user_id, user.c.account_id == account_id))).first()
    if row is None:
        raise NotFound("No such user.")
    return row


@router.get("")
async def list_users(admin: AdminDep, db: SessionDep, paging: PageDep) -> Page[UserRead]:
    """The account's users, newest first."""
    query = select(user).where(user.c.account_id == admin.account_id)
    rows, total = await fetch_page(db, query, order_by=[user.c.created_at.desc(), user.c.id], paging=paging)
    return Page(items=[user_read(r) for r in rows], total=total, page=paging.page, page_size=paging.page_size)


@router.post("", status_code=201, responses=problems(409))
async def create_user(body: UserCreate, admin: AdminDep, db: SessionDep, edge: EdgeDep) -> UserRead:
    """Add a user (`admin` or `user`) to the account."""
    created = await add_user(
        db, account_id=admin.account_id, email=str(body.email), password=body.password, role=body.role
    )
    await record_admin_action(
        db,
        admin,
        action="user.added",
        target_user_id=created.id,
        target=created.email,
        ip=edge.client_ip,
        details={"role": body.role},
    )
    return created


@router.get("/{user_id}")
async def get_user(user_id: str, admin: AdminDep, db: SessionDep) -> UserRead:
    """One user of the account."""
    return user_read(await user_of_account(db, admin.account_id, user_id))


@router.patch("/{user_id}", responses=problems(409))
async def deactivate_user(user_id: str, body: UserUpdate, admin: AdminDep, db: SessionDep, edge: EdgeDep) -> UserRead:
    """Deactivate a user (`{active: false}`): no more logins, every session revoked."""
    target = await user_of_account(db, admin.account_id, user_id)
    if target.id == admin.user.id:
        raise NotOnYourself("Ask another administrator to deactivate you.")
    if target.active:
        await db.execute(
            update(user).where(user.c.id == target.id).values(active=False, deactivated_at=datetime.now(UTC))
        )
        await revoke_sessions(db, reason="deactivated", user_id=target.id)
        await record_admin_action(
            db,
            admin,
            action="user.deactivated",
            target_user_id=target.id,
            target=target.email,
            ip=edge.client_ip,
        )
    return user_read(await user_of_account(db, admin.account_id, user_id))


@router.delete("/{user_id}/totp", responses=problems(409))
async def reset_totp(user_id: str, admin: AdminDep, db: SessionDep, edge: EdgeDep) -> UserRead:
    """Reset a user's 2FA: their seed and recovery codes are gone; enforcement makes them enrol again."""
    target = await user_of_account(db, admin.account_id, user_id)
    if target.id == admin.user.id:
        raise NotOnYourself("Ask another administrator to reset your 2FA.")
    await db.execute(
        update(user)
        .where(user.c.id == target.id)
        # A new generation: challenges opened before the reset die with the old secret.
        .values(
            totp_secret=None, totp_last_step=None, totp_enrolled_at=None, totp_generation=user.c.totp_generation + 1
        )
    )
    await db.execute(delete(recovery_code).where(recovery_code.c.user_id == target.id))
    await revoke_sessions(db, reason="totp_reset", user_id=target.id)
    await record_admin_action(
        db,
        admin,
        action="totp.reset",
        target_user_id=target.id,
        target=target.email,
        ip=edge.client_ip,
    )
    return user_read(await user_of_account(db, admin.account_id, user_id))
