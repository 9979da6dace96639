"""Reading the wallet: the balance and the ledger."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from billing.adapters.wallet_store import ledger_page, read_wallet
from billing.domain.ledger import Entry, Wallet
from tollgate_shared.pagination import PageParams


async def read_balance(db: AsyncSession, account_id: str, *, currency: str) -> Wallet:
    """The account's wallet; an account billing has not heard of yet has an empty one."""
    return await read_wallet(db, account_id) or Wallet.empty(account_id, currency)


async def read_ledger(db: AsyncSession, account_id: str, paging: PageParams) -> tuple[list[Entry], int]:
    """One page of the account's ledger, newest first, and how many entries there are."""
    return await ledger_page(db, account_id, paging)
