"""Who is calling: the principal the gateway verified, checked against live sessions and users."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import select

from auth.adapters.tables import account, user
from auth.adapters.tables import session as session_table
from tollgate_shared.access_tokens import Principal
from tollgate_shared.callers import SessionRevoked, edge_principal
from tollgate_shared.errors import DomainError
from tollgate_shared.service import SessionDep


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


async def current_caller(request: Request, db: SessionDep) -> Caller:
    principal = edge_principal(request)
    live = await db.execute(
        select(session_table.c.id).where(
            session_table.c.id == principal.session_id, session_table.c.revoked_at.is_(None)
        )
    )
    found = (await db.execute(select(user).where(user.c.id == principal.user_id, user.c.active.is_(True)))).first()
    if live.first() is None or found is None:
        raise SessionRevoked()
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
