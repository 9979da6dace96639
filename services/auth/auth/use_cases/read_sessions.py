"""Sessions revoked recently: the gateway's snapshot of sessions whose tokens it must refuse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.session_store import revoked_since


async def recently_revoked_sessions(db: AsyncSession, *, access_token_minutes: int) -> list[str]:
    """Sessions revoked within an access token's lifetime: their tokens may still be presented."""
    return await revoked_since(db, datetime.now(UTC) - timedelta(minutes=access_token_minutes))
