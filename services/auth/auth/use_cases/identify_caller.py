"""Who is calling: the principal the gateway verified, checked against live sessions and users."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.caller_store import find_live_caller
from auth.domain.records import Caller
from tollgate_shared.access_tokens import Principal
from tollgate_shared.callers import SessionRevoked


async def identify_caller(db: AsyncSession, principal: Principal) -> Caller:
    """The caller, refused when their session was revoked or they are no longer active
    (expiry is the access token's business: a session outlives none of its tokens)."""
    found = await find_live_caller(db, session_id=principal.session_id, user_id=principal.user_id)
    if found is None:
        raise SessionRevoked()
    user, account = found
    return Caller(user=user, account=account, session_id=principal.session_id, amr=principal.amr)
