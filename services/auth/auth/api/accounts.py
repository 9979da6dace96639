"""Sign-up: `POST /api/accounts` creates an account and its first administrator."""

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter
from sqlalchemy import select

from auth.adapters.tables import account, user
from auth.api.schemas import AccountCreate, AccountCreated, AccountRead, UserRead
from auth.domain.passwords import hash_password
from tollgate_shared.errors import Conflict
from tollgate_shared.events import new_event
from tollgate_shared.events.catalogue import AccountCreated as AccountCreatedEvent
from tollgate_shared.events.catalogue import UserCreated
from tollgate_shared.outbox import record_event
from tollgate_shared.service import SessionDep

router = APIRouter(prefix="/api/accounts", tags=["accounts"])


class EmailTaken(Conflict):
    code, title = "email_taken", "This email already has an account"


@router.post("", status_code=201)
async def create_account(body: AccountCreate, session: SessionDep) -> AccountCreated:
    """Create an account and its first administrator."""
    email = body.email.lower()
    if (await session.execute(select(user.c.id).where(user.c.email == email))).first():
        raise EmailTaken()
    now = datetime.now(UTC)
    account_id, admin_id = str(uuid.uuid4()), str(uuid.uuid4())
    await session.execute(account.insert().values(id=account_id, name=body.account_name, created_at=now))
    await session.execute(
        user.insert().values(
            id=admin_id,
            account_id=account_id,
            email=email,
            password_hash=await hash_password(body.password),
            role="admin",
            active=True,
            created_at=now,
        )
    )
    await record_event(
        session,
        new_event(
            "auth.account.created",
            AccountCreatedEvent(account_id=account_id, account_name=body.account_name, admin_user_id=admin_id),
            source="auth",
            account_id=account_id,
        ),
    )
    await record_event(
        session,
        new_event(
            "auth.user.created", UserCreated(user_id=admin_id, role="admin"), source="auth", account_id=account_id
        ),
    )
    return AccountCreated(
        id=account_id,
        account=AccountRead(id=account_id, name=body.account_name),
        admin=UserRead(id=admin_id, email=email, role="admin"),
    )
