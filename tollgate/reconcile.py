"""`tollgate billing reconcile`: prove every balance equals the sum of its ledger."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from billing.settings import BillingSettings
from tollgate_shared.money import from_minor


async def _mismatches(settings: BillingSettings) -> tuple[int, list[tuple[str, int, int]]]:
    # Imported once the settings are read: a mistake in them is told without these imports' second.
    from billing.adapters.tables import ledger_entry, wallet
    from tollgate_shared.db import create_engine

    engine = create_engine(settings.effective_database_url)
    try:
        async with engine.connect() as connection:
            sums = select(ledger_entry.c.account_id, func.sum(ledger_entry.c.amount_minor).label("total")).group_by(
                ledger_entry.c.account_id
            )
            totals = {row.account_id: int(row.total) for row in await connection.execute(sums)}
            balances = {row.account_id: int(row.balance_minor) for row in await connection.execute(select(wallet))}
    finally:
        await engine.dispose()
    accounts = set(totals) | set(balances)
    wrong = [
        (a, balances.get(a, 0), totals.get(a, 0)) for a in sorted(accounts) if balances.get(a, 0) != totals.get(a, 0)
    ]
    return len(accounts), wrong


def reconcile() -> int:
    checked, wrong = asyncio.run(_mismatches(BillingSettings()))
    for account_id, balance, total in wrong:
        print(f"MISMATCH {account_id}: balance {from_minor(balance)} but ledger sums to {from_minor(total)}")
    print(f"{checked} wallets checked, {len(wrong)} mismatched")
    return 1 if wrong else 0
