"""The audit log, for administrators: who did what to whom, from where, when."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.audit_store import page_of_audit_entries
from auth.domain.records import AuditEntry
from tollgate_shared.pagination import PageParams


async def read_audit_log(db: AsyncSession, account_id: str, paging: PageParams) -> tuple[list[AuditEntry], int]:
    """One page of the account's entries, newest first, and how many there are."""
    return await page_of_audit_entries(db, account_id, paging)
