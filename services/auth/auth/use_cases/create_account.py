"""Sign-up: an account and its first administrator."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.account_store import insert_account
from auth.adapters.audit_store import record_audit
from auth.domain.audit import AuditAction
from auth.domain.records import Account, User
from auth.domain.roles import AccountRole
from auth.use_cases.add_user import add_user
from tollgate_shared.events.models import AccountCreated
from tollgate_shared.outbox import record_event


@dataclass(frozen=True)
class CreatedAccount:
    account: Account
    admin: User


async def create_account(db: AsyncSession, *, name: str, email: str, password: str, ip: str) -> CreatedAccount:
    account = await insert_account(db, account_id=str(uuid.uuid4()), name=name, now=datetime.now(UTC))
    admin = await add_user(db, account_id=account.id, email=email, password=password, role=AccountRole.ADMIN)
    await record_event(
        db, AccountCreated(account_id=account.id, account_name=name, admin_user_id=admin.id), account_id=account.id
    )
    await record_audit(
        db, action=AuditAction.ACCOUNT_CREATED, account_id=account.id, actor_id=admin.id, actor_email=admin.email, ip=ip
    )
    return CreatedAccount(account=account, admin=admin)
