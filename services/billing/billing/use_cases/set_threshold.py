"""Setting the low-balance threshold (administrators)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from billing.adapters.wallet_store import store_threshold
from billing.domain.ledger import Wallet, is_below
from billing.use_cases.apply_to_wallet import announce_low_balance, locked_wallet


async def set_threshold(db: AsyncSession, *, account_id: str, threshold_minor: int, currency: str) -> Wallet:
    """A new threshold; raising it above the balance is a crossing too."""
    current = await locked_wallet(db, account_id, currency=currency)
    changed = await store_threshold(
        db, account_id, threshold_minor=threshold_minor, below=is_below(current.balance_minor, threshold_minor)
    )
    await announce_low_balance(
        db,
        account_id,
        current.currency,
        was_below=current.below_threshold,
        balance=current.balance_minor,
        threshold=threshold_minor,
    )
    return changed
