"""Internal endpoints: never routed by the gateway; it calls them directly, signed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select

from auth.adapters.tables import account, ip_rule, session
from auth.context import ContextDep
from tollgate_shared.service import SessionDep

router = APIRouter(prefix="/internal", tags=["internal"], include_in_schema=False)


@router.get("/ip-rules")
async def ip_rules_snapshot(db: SessionDep) -> dict[str, Any]:
    """Every account's enabled rules with its revision: the gateway's starting point."""
    revisions = {
        row.id: row.ip_rules_revision
        for row in (await db.execute(select(account.c.id, account.c.ip_rules_revision))).all()
    }
    rules: dict[str, list[dict[str, Any]]] = {account_id: [] for account_id in revisions}
    for row in (
        await db.execute(select(ip_rule).where(ip_rule.c.enabled.is_(True)).order_by(ip_rule.c.created_at))
    ).all():
        rules[row.account_id].append(
            {
                "id": row.id,
                "user_id": row.user_id,
                "start_ip": row.start_ip,
                "end_ip": row.end_ip,
                "description": row.description,
                "enabled": True,
            }
        )
    return {
        "accounts": [
            {"account_id": account_id, "revision": revision, "rules": rules[account_id]}
            for account_id, revision in revisions.items()
            if revision > 0
        ]
    }


@router.get("/revoked-sessions")
async def revoked_sessions(db: SessionDep, context: ContextDep) -> dict[str, list[str]]:
    """Sessions revoked within an access token's lifetime: their tokens may still be presented."""
    since = datetime.now(UTC) - timedelta(minutes=context.settings.access_token_minutes)
    rows = (await db.execute(select(session.c.id).where(session.c.revoked_at >= since))).all()
    return {"session_ids": [row.id for row in rows]}
