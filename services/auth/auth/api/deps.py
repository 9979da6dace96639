"""What auth's routes are given: a database session, auth's context, and who is calling."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from auth.adapters.context import AuthContext
from auth.domain.errors import AdminRequired
from auth.domain.records import Caller
from auth.domain.roles import AccountRole
from auth.use_cases.identify_caller import identify_caller
from tollgate_shared.callers import edge_principal
from tollgate_shared.service import SessionDep


async def get_context(request: Request) -> AuthContext:
    # `async def`: FastAPI runs a plain `def` dependency in its threadpool, a thread
    # hop per request for what is an attribute read.
    context: AuthContext = request.app.state.auth
    return context


ContextDep = Annotated[AuthContext, Depends(get_context)]


async def current_caller(request: Request, db: SessionDep) -> Caller:
    return await identify_caller(db, edge_principal(request))


async def current_account_user(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
    caller.member_of()
    return caller


async def current_admin(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
    caller.member_of()
    if caller.user.role != AccountRole.ADMIN:
        raise AdminRequired()
    return caller


CallerDep = Annotated[Caller, Depends(current_caller)]
AccountUserDep = Annotated[Caller, Depends(current_account_user)]
AdminDep = Annotated[Caller, Depends(current_admin)]
