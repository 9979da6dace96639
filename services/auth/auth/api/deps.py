"""What auth's routes are given: a database session, auth's context, and who is calling."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.context import AuthContext
from auth.domain.errors import AdminRequired, Refusal
from auth.domain.records import Caller
from auth.domain.roles import AccountRole
from auth.use_cases.identify_caller import identify_caller
from tollgate_shared.callers import edge_principal
from tollgate_shared.service import Runtime


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session in a transaction that commits when the route returns, or refuses with a `Refusal`.

    Any other error rolls back; a refusal keeps what led to it (the failed login counted and
    audited, the stolen session revoked), as the answer says it happened.
    """
    runtime: Runtime = request.app.state.runtime
    async with runtime.session_factory() as session, session.begin():
        try:
            yield session
        except Refusal:
            await session.commit()
            raise


async def get_context(request: Request) -> AuthContext:
    # `async def`: FastAPI runs a plain `def` dependency in its threadpool, a thread
    # hop per request for what is an attribute read.
    context: AuthContext = request.app.state.auth
    return context


# scope="function", as the shared SessionDep: the transaction commits before the answer is sent.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
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
