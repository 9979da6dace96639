"""Who is calling: the access token (bearer or cookie), checked against live sessions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import select

from auth.adapters.tables import account, user
from auth.adapters.tables import session as session_table
from auth.context import ContextDep
from tollgate_shared.access_tokens import Principal, UnknownKey, decode_access_token
from tollgate_shared.callers import Unauthenticated, authenticate
from tollgate_shared.errors import DomainError
from tollgate_shared.service import Runtime, SessionDep


class AdminRequired(DomainError):
    status, code, title = 403, "admin_required", "Only administrators may do this"


class AccountRequired(DomainError):
    status, code, title = 403, "account_required", "Only users of an account may do this"


@dataclass(frozen=True)
class Caller:
    principal: Principal
    user: Any
    account: Any

    @property
    def account_id(self) -> str:
        if self.account is None:
            raise AccountRequired()
        return str(self.account.id)


async def current_caller(request: Request, db: SessionDep, context: ContextDep) -> Caller:
    async def verify(token: str) -> Principal:
        try:
            return decode_access_token(token, context.keys.public_keys)
        except UnknownKey:
            # Not a `RuntimeDep` parameter: that plain-def dependency costs a threadpool hop per request.
            runtime: Runtime = request.app.state.runtime
            await context.keys.load(runtime.session_factory)  # another replica may have rotated
            return decode_access_token(token, context.keys.public_keys)

    principal = await authenticate(request, verify)
    live = await db.execute(
        select(session_table.c.id).where(
            session_table.c.id == principal.session_id, session_table.c.revoked_at.is_(None)
        )
    )
    found = (await db.execute(select(user).where(user.c.id == principal.user_id, user.c.active.is_(True)))).first()
    if live.first() is None or found is None:
        raise Unauthenticated("The session has ended.")
    the_account = None
    if found.account_id is not None:
        the_account = (await db.execute(select(account).where(account.c.id == found.account_id))).first()
    return Caller(principal=principal, user=found, account=the_account)


async def current_admin(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
    if caller.account is None:
        raise AccountRequired()
    if caller.user.role != "admin":
        raise AdminRequired()
    return caller


async def current_account_user(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
    if caller.account is None:
        raise AccountRequired()
    return caller


CallerDep = Annotated[Caller, Depends(current_caller)]
AccountUserDep = Annotated[Caller, Depends(current_account_user)]
AdminDep = Annotated[Caller, Depends(current_admin)]
