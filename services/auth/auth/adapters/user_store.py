"""The `user` table: users and staff, their password hash and their TOTP enrolment."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.tables import user
from auth.domain.records import User
from auth.domain.roles import Role, role_named
from tollgate_shared.pagination import PageParams, fetch_page


def user_of(row: Row[Any]) -> User:
    return User(
        id=row.id,
        account_id=row.account_id,
        email=row.email,
        password_hash=row.password_hash,
        role=role_named(row.role),
        active=bool(row.active),
        totp_secret=row.totp_secret,
        totp_last_step=row.totp_last_step,
        totp_generation=int(row.totp_generation),
        created_at=row.created_at,
    )


async def email_taken(db: AsyncSession, email: str) -> bool:
    return (await db.execute(select(user.c.id).where(user.c.email == email))).first() is not None


async def insert_user(
    db: AsyncSession, *, user_id: str, account_id: str | None, email: str, password_hash: str, role: Role, now: datetime
) -> User:
    created = User(
        id=user_id,
        account_id=account_id,
        email=email,
        password_hash=password_hash,
        role=role,
        active=True,
        totp_secret=None,
        totp_last_step=None,
        totp_generation=0,
        created_at=now,
    )
    await db.execute(
        user.insert().values(
            id=user_id,
            account_id=account_id,
            email=email,
            password_hash=password_hash,
            role=role.value,
            active=True,
            created_at=now,
        )
    )
    return created


async def find_user(db: AsyncSession, user_id: str) -> User | None:
    row = (await db.execute(select(user).where(user.c.id == user_id))).first()
    return None if row is None else user_of(row)


async def find_user_by_email(db: AsyncSession, email: str) -> User | None:
    row = (await db.execute(select(user).where(user.c.email == email))).first()
    return None if row is None else user_of(row)


async def find_account_user(db: AsyncSession, account_id: str, user_id: str) -> User | None:
    """The user, if it belongs to the account."""
    row = (await db.execute(select(user).where(user.c.id == user_id, user.c.account_id == account_id))).first()
    return None if row is None else user_of(row)


async def active_account_users(db: AsyncSession, account_id: str) -> list[User]:
    """Every active user of the account."""
    rows = (await db.execute(select(user).where(user.c.account_id == account_id, user.c.active.is_(True)))).all()
    return [user_of(row) for row in rows]


async def page_of_users(db: AsyncSession, account_id: str, paging: PageParams) -> tuple[list[User], int]:
    """The account's users, newest first."""
    query = select(user).where(user.c.account_id == account_id)
    rows, total = await fetch_page(db, query, order_by=[user.c.created_at.desc(), user.c.id], paging=paging)
    return [user_of(row) for row in rows], total


async def deactivate_user(db: AsyncSession, user_id: str, *, now: datetime) -> None:
    await db.execute(update(user).where(user.c.id == user_id).values(active=False, deactivated_at=now))


async def forget_totp(db: AsyncSession, user_id: str) -> None:
    """No seed any more; a new generation, so challenges opened before die with the old secret."""
    await db.execute(
        update(user)
        .where(user.c.id == user_id)
        .values(
            totp_secret=None, totp_last_step=None, totp_enrolled_at=None, totp_generation=user.c.totp_generation + 1
        )
    )


async def claim_totp_step(db: AsyncSession, owner: User, *, generation: int, step: int) -> bool:
    """Record `step` as the last used, if it is newer than the last one and the generation holds.

    Conditional on the step: two concurrent uses of one code cannot both win; and on the
    generation: a reset committed meanwhile voids the secret the code was checked against.
    """
    claimed = await db.execute(
        update(user)
        .where(
            user.c.id == owner.id,
            user.c.totp_generation == generation,
            (user.c.totp_last_step.is_(None)) | (user.c.totp_last_step < step),
        )
        .values(totp_last_step=step)
    )
    return bool(claimed.rowcount)  # type: ignore[attr-defined]


async def enrol_totp(
    db: AsyncSession, owner: User, *, generation: int, sealed_secret: str, step: int, now: datetime
) -> bool:
    """Store the seed, only from `generation` and only while not enrolled.

    Of two challenges confirmed at once, the second waits for the first and changes
    nothing; advancing the generation voids every other open challenge of the user.
    """
    enrolled = await db.execute(
        update(user)
        .where(user.c.id == owner.id, user.c.totp_generation == generation, user.c.totp_secret.is_(None))
        .values(
            totp_secret=sealed_secret,
            totp_last_step=step,
            totp_enrolled_at=now,
            totp_generation=user.c.totp_generation + 1,
        )
    )
    return bool(enrolled.rowcount)  # type: ignore[attr-defined]
