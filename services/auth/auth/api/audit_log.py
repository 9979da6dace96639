"""The audit log, for administrators: who did what to whom, from where, when."""

from __future__ import annotations

import json

from fastapi import APIRouter
from sqlalchemy import select

from auth.adapters.tables import audit_entry
from auth.api.deps import AdminDep
from auth.api.schemas import AuditEntryRead
from tollgate_shared.pagination import Page, PageDep, fetch_page
from tollgate_shared.service import SessionDep

router = APIRouter(prefix="/api/account/audit-log", tags=["audit"])


@router.get("")
async def audit_log(admin: AdminDep, db: SessionDep, paging: PageDep) -> Page[AuditEntryRead]:
    """The account's audit entries, newest first."""
    query = select(audit_entry).where(audit_entry.c.account_id == admin.account_id)
    rows, total = await fetch_page(
        db, query, order_by=[audit_entry.c.created_at.desc(), audit_entry.c.id], paging=paging
    )
    items = [
        AuditEntryRead(
            id=r.id,
            action=r.action,
            actor_id=r.actor_id,
            actor_email=r.actor_email,
            target_user_id=r.target_user_id,
            target=r.target,
            ip=r.ip,
            details=json.loads(r.details) if r.details else None,
            created_at=r.created_at,
        )
        for r in rows
    ]
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)
