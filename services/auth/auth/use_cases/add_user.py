"""Add a user: to an account (by its administrator, or at sign-up), or as platform staff."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.audit_store import record_admin_action, record_audit
from auth.adapters.user_store import email_taken, insert_user
from auth.domain.audit import AuditAction
from auth.domain.emails import normalised_email
from auth.domain.errors import EmailTaken
from auth.domain.passwords import WeakPassword, check_password_policy, hash_password
from auth.domain.records import Caller, User
from auth.domain.roles import AccountRole, Role, StaffRole
from tollgate_shared.errors import InvalidField
from tollgate_shared.events.models import UserCreated
from tollgate_shared.outbox import record_event


async def add_user(db: AsyncSession, *, account_id: str | None, email: str, password: str, role: Role) -> User:
    """Create a user (policy-checked password, argon2id hash); an account's publishes `auth.user.created`."""
    email = normalised_email(email)
    try:
        check_password_policy(password, email=email)
    except WeakPassword as exc:
        raise InvalidField("password", str(exc)) from None
    if await email_taken(db, email):
        raise EmailTaken()
    created = await insert_user(
        db,
        user_id=str(uuid.uuid4()),
        account_id=account_id,
        email=email,
        password_hash=await hash_password(password),
        role=role,
        now=datetime.now(UTC),
    )
    if account_id is not None:
        await record_event(db, UserCreated(user_id=created.id, role=role.value), account_id=account_id)
    return created


async def add_account_user(
    db: AsyncSession, admin: Caller, *, email: str, password: str, role: AccountRole, ip: str
) -> User:
    created = await add_user(db, account_id=admin.account_id, email=email, password=password, role=role)
    await record_admin_action(
        db,
        admin,
        action=AuditAction.USER_ADDED,
        target_user_id=created.id,
        target=created.email,
        ip=ip,
        details={"role": role.value},
    )
    return created


async def add_staff(db: AsyncSession, *, email: str, password: str, role: StaffRole) -> User:
    """A platform staff user (`tollgate staff create`): no account; TOTP enrolment at the first login."""
    staff = await add_user(db, account_id=None, email=email, password=password, role=role)
    await record_audit(
        db,
        action=AuditAction.STAFF_CREATED,
        account_id=None,
        target_user_id=staff.id,
        target=staff.email,
        details={"role": role.value},
    )
    return staff
