"""Who is calling: the principal the gateway verified, checked against live sessions and users."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.account_store import find_account
from auth.adapters.session_store import is_live
from auth.adapters.user_store import find_active_user
from auth.domain.records import Caller
from tollgate_shared.access_tokens import Principal
from tollgate_shared.callers import SessionRevoked


async def identify_caller(db: AsyncSession, principal: Principal) -> Caller:
    """The caller, refused when their session was revoked or they are no longer active."""
    live = await is_live(db, principal.session_id)
    user = await find_active_user(db, principal.user_id)
    if not live or user is None:
        raise SessionRevoked()
    account = None if user.account_id is None else await find_account(db, user.account_id)
    return Caller(user=user, account=account, session_id=principal.session_id, amr=principal.amr)
