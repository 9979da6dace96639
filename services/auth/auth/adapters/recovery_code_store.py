"""The `recovery_code` table: one-time codes, stored as keyed hashes."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth.adapters.tables import recovery_code


async def replace_recovery_codes(db: AsyncSession, user_id: str, code_hashes: list[str], *, now: datetime) -> None:
    await delete_recovery_codes(db, user_id)
    await db.execute(
        recovery_code.insert(),
        [
            {"id": str(uuid.uuid4()), "user_id": user_id, "code_hash": digest, "created_at": now}
            for digest in code_hashes
        ],
    )


async def delete_recovery_codes(db: AsyncSession, user_id: str) -> None:
    await db.execute(delete(recovery_code).where(recovery_code.c.user_id == user_id))


async def use_recovery_code(db: AsyncSession, user_id: str, code_hash: str, *, now: datetime) -> bool:
    """Spend the code if the user has it unused; whether it was."""
    used = await db.execute(
        update(recovery_code)
        .where(
            recovery_code.c.user_id == user_id,
            recovery_code.c.code_hash == code_hash,
            recovery_code.c.used_at.is_(None),
        )
        .values(used_at=now)
    )
    return bool(used.rowcount)  # type: ignore[attr-defined]
