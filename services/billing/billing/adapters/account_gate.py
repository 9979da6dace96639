"""How many of one account's orders a billing process lets into the database at once.

An account's orders are applied one at a time at its wallet's row lock. Every
order beyond the one holding it waits there with a pool connection and a
PostgreSQL backend of its own, and each hand-over of the lock wakes them: that
costs PostgreSQL CPU per order, and one account could hold the whole pool while
other accounts' requests queued behind it for a connection. Past the gate they
wait in the process instead, in arrival order, at no cost.

A handful waiting at the lock is worth having: the next order is already at
the database when the lock passes. The limit is per process, so the total is
this times the replicas. The figures, and why the default is 2:
docs/decisions.md (Billing) and bench/HISTORY.md (billing).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


@dataclass
class _Gate:
    semaphore: asyncio.Semaphore
    users: int = field(default=0)  # holding or waiting: the gate is dropped when none is left


class AccountGate:
    def __init__(self, at_once: int) -> None:
        self.at_once = at_once
        self._gates: dict[str, _Gate] = {}

    @asynccontextmanager
    async def entered(self, account_id: str) -> AsyncIterator[None]:
        """Wait until fewer than `at_once` of the account's orders are inside, then go in."""
        gate = self._gates.get(account_id)
        if gate is None:
            gate = self._gates[account_id] = _Gate(asyncio.Semaphore(self.at_once))
        gate.users += 1
        try:
            async with gate.semaphore:
                yield
        finally:
            gate.users -= 1
            if gate.users == 0:
                del self._gates[account_id]

    def accounts(self) -> int:
        """Accounts with an order inside or waiting (the gates kept)."""
        return len(self._gates)
