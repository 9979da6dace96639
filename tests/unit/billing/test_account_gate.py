"""The account gate: at most N of one account's orders inside at once, in arrival order, nothing kept when idle."""

from __future__ import annotations

import asyncio

import pytest

from billing.adapters.account_gate import AccountGate


async def test_the_orders_beyond_the_limit_wait_and_go_in_in_arrival_order() -> None:
    gate = AccountGate(2)
    entered: list[str] = []
    leave = asyncio.Event()

    async def order(name: str, account: str = "a") -> None:
        async with gate.entered(account):
            entered.append(name)
            await leave.wait()

    tasks = [asyncio.create_task(order(name)) for name in ("first", "second", "third", "fourth")]
    other = asyncio.create_task(order("other account", account="b"))
    for _ in range(3):
        await asyncio.sleep(0)
    assert entered == ["first", "second", "other account"]  # two of "a" inside; "b" is not held up by them
    leave.set()
    await asyncio.gather(*tasks, other)
    assert entered[3:] == ["third", "fourth"]
    assert gate.accounts() == 0


async def test_a_waiter_that_is_cancelled_leaves_no_trace() -> None:
    gate = AccountGate(1)
    leave = asyncio.Event()

    async def hold() -> None:
        async with gate.entered("a"):
            await leave.wait()

    holder = asyncio.create_task(hold())
    await asyncio.sleep(0)
    waiter = asyncio.create_task(hold())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    leave.set()
    await holder
    assert gate.accounts() == 0
    async with gate.entered("a"):  # the slot the cancelled waiter would have had is free
        assert gate.accounts() == 1
