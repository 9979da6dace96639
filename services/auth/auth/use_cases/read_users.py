"""The users of an account, for its administrators."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.user_store import find_account_user, page_of_users
from auth.domain.records import User
from tollgate_shared.errors import NotFound
from tollgate_shared.pagination import PageParams


async def list_users(db: AsyncSession, account_id: str, paging: PageParams) -> tuple[list[User], int]:
    """One page of the account's users, newest first, and how many there are."""
    return await page_of_users(db, account_id, paging)


async def account_user(db: AsyncSession, account_id: str, user_id: str) -> User:
    """The user, if it belongs to the account; another account's user is a 404."""
    user = await find_account_user(db, account_id, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user
