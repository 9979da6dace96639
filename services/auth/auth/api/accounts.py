"""Sign-up: `POST /api/accounts` creates an account and its first administrator."""

from fastapi import APIRouter

from auth.api.schemas import AccountCreate, AccountCreated, AccountRead, user_read
from auth.use_cases import create_account as sign_up
from tollgate_shared.openapi import PUBLIC, problems
from tollgate_shared.service import EdgeDep, SessionDep

router = APIRouter(prefix="/api/accounts", tags=["accounts"])


@router.post("", status_code=201, openapi_extra=PUBLIC, responses=problems(409, 429))
async def create_account(body: AccountCreate, db: SessionDep, edge: EdgeDep) -> AccountCreated:
    """Create an account and its first administrator."""
    created = await sign_up.create_account(
        db, name=body.account_name, email=str(body.email), password=body.password, ip=edge.client_ip
    )
    return AccountCreated(
        id=created.account.id,
        account=AccountRead(id=created.account.id, name=created.account.name),
        admin=user_read(created.admin),
    )
