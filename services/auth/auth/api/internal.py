"""Internal endpoints: never routed by the gateway; it calls them directly, signed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from auth.api.deps import ContextDep
from auth.use_cases import read_ip_rules
from auth.use_cases.read_sessions import recently_revoked_sessions
from tollgate_shared.service import SessionDep

router = APIRouter(prefix="/internal", tags=["internal"], include_in_schema=False)


@router.get("/ip-rules")
async def ip_rules_snapshot(db: SessionDep) -> dict[str, Any]:
    """Every account's enabled rules with its revision: the gateway's starting point."""
    return {
        "accounts": [
            {
                "account_id": account.account_id,
                "revision": account.revision,
                "rules": [
                    {
                        "id": rule.id,
                        "user_id": rule.user_id,
                        "start_ip": rule.start_ip,
                        "end_ip": rule.end_ip,
                        "description": rule.description,
                        "enabled": True,
                    }
                    for rule in account.rules
                ],
            }
            for account in await read_ip_rules.ip_rules_snapshot(db)
        ]
    }


@router.get("/revoked-sessions")
async def revoked_sessions(db: SessionDep, context: ContextDep) -> dict[str, list[str]]:
    """Sessions revoked within an access token's lifetime: their tokens may still be presented."""
    ids = await recently_revoked_sessions(db, access_token_minutes=context.settings.access_token_minutes)
    return {"session_ids": ids}
