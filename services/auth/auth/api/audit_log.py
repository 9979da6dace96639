"""The audit log, for administrators: who did what to whom, from where, when."""

from __future__ import annotations

from fastapi import APIRouter

from auth.api.deps import AdminDep
from auth.api.schemas import AuditEntryRead
from auth.use_cases.read_audit_log import read_audit_log
from tollgate_shared.pagination import Page, PageDep
from tollgate_shared.service import SessionDep

router = APIRouter(prefix="/api/account/audit-log", tags=["audit"])


@router.get("")
async def audit_log(admin: AdminDep, db: SessionDep, paging: PageDep) -> Page[AuditEntryRead]:
    """The account's audit entries, newest first."""
    entries, total = await read_audit_log(db, admin.account_id, paging)
    items = [AuditEntryRead.model_validate(entry, from_attributes=True) for entry in entries]
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)
