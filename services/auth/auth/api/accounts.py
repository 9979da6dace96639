"""Sign-up: `POST /api/accounts` creates an account and its first administrator."""

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter

from auth.adapters.tables import account
from auth.api.schemas import AccountCreate, AccountCreated, AccountRead
from auth.api.users import add_user
from auth.audit import record_audit
from tollgate_shared.events.models import AccountCreated as AccountCreatedEvent
from tollgate_shared.openapi import PUBLIC, problems
from tollgate_shared.outbox import record_event
from tollgate_shared.service import EdgeDep, SessionDep

router = APIRouter(prefix="/api/accounts", tags=["accounts"])


@router.post("", status_code=201, openapi_extra=PUBLIC, responses=problems(409, 429))
async def create_account(body: AccountCreate, db: SessionDep, edge: EdgeDep) -> AccountCreated:
    """Create an account and its first administrator."""
    now = datetime.now(UTC)
    account_id = str(uuid.uuid4())
    await db.execute(
        account.insert().values(
            id=account_id, name=body.account_name, enforce_totp=False, ip_rules_revision=0, created_at=now
        )
    )
    admin = await add_user(db, account_id=account_id, email=str(body.email), password=body.password, role="admin")
    await record_event(
        db,
        AccountCreatedEvent(account_id=account_id, account_name=body.account_name, admin_user_id=admin.id),
        account_id=account_id,
    )
    await record_audit(
        db,
        action="account.created",
        account_id=account_id,
        actor_id=admin.id,
        actor_email=admin.email,
        ip=edge.client_ip,
    )
    return AccountCreated(id=account_id, account=AccountRead(id=account_id, name=body.account_name), admin=admin)
