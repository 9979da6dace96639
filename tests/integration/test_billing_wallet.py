"""The wallet: balance through the gateway, exactly-once ledger entries, no negative balance under races."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from billing.domain.ledger import InsufficientCredits
from tests.support.auth_client import AuthClient
from tests.support.billing import apply, balance
from tests.support.harness import TEST_INTERNAL_KEY, TEST_SECRET_KEY, fetch, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
async def billing(start_system: Any) -> AsyncIterator[tuple[AuthClient, Any]]:
    system = await start_system(services=("auth", "billing"))
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as client:
        yield AuthClient(client), system


async def test_a_new_account_has_an_empty_wallet_and_admins_set_the_threshold(billing: Any) -> None:
    client, system = billing
    admin = await client.sign_up()
    assert await balance(client, admin) == {
        "balance": "0.00",
        "currency": "INR",
        "low_balance_threshold": "0.00",
        "below_threshold": False,
    }
    await wait_for(
        lambda: fetch(system.database_urls["billing"], "SELECT 1 FROM wallet WHERE account_id = $1", admin.account_id)
    )

    member = await client.add_user(admin)
    await client.log_in(member)
    assert (
        await client.call("PUT", "/api/billing/threshold", member, json={"low_balance_threshold": "100.00"})
    ).status_code == 403
    for bad in (100.5, "-1.00", "1.234", "abc", None):
        answer = await client.call("PUT", "/api/billing/threshold", admin, json={"low_balance_threshold": bad})
        assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "low_balance_threshold", bad
    answer = await client.call("PUT", "/api/billing/threshold", admin, json={"low_balance_threshold": "100.00"})
    assert answer.status_code == 200 and answer.json()["below_threshold"] is True
    assert (await balance(client, member))["low_balance_threshold"] == "100.00"


async def test_the_same_reference_is_applied_once_and_the_ledger_shows_it(billing: Any) -> None:
    client, system = billing
    admin = await client.sign_up()
    first = await apply(system, admin.account_id, 150_00, "pay-1", kind="online_payment")
    again = await apply(system, admin.account_id, 150_00, "pay-1", kind="online_payment")
    assert not first.already_applied and again.already_applied and again.entry_id == first.entry_id
    await apply(system, admin.account_id, -40_25, "order-1", kind="order")
    assert (await balance(client, admin))["balance"] == "109.75"
    # A repeated debit: the balance moves and moves back under the same lock (nothing shows).
    assert (await apply(system, admin.account_id, -40_25, "order-1", kind="order")).already_applied
    await apply(system, admin.account_id, -100_00, "order-2", kind="order")
    # Repeated when the balance (9.75) no longer covers it: still the entry made, not a 402.
    repeat = await apply(system, admin.account_id, -100_00, "order-2", kind="order")
    assert repeat.already_applied and repeat.balance_after_minor == 9_75
    assert (await balance(client, admin))["balance"] == "9.75"
    ledger = (await client.call("GET", "/api/billing/ledger", admin)).json()
    assert ledger["total"] == 3
    assert [(e["kind"], e["amount"], e["balance_after"]) for e in ledger["items"]] == [
        ("order", "-100.00", "9.75"),
        ("order", "-40.25", "109.75"),
        ("online_payment", "150.00", "150.00"),
    ]


async def test_concurrent_debits_never_take_the_balance_below_zero(
    billing: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tollgate.cli import main

    client, system = billing
    admin = await client.sign_up()
    await apply(system, admin.account_id, 100_00, "top-up")

    async def debit(n: int) -> bool:
        try:
            await apply(system, admin.account_id, -10_00, f"order-{n}", kind="order")
        except InsufficientCredits:
            return False
        return True

    results = await asyncio.gather(*(debit(n) for n in range(30)))
    assert results.count(True) == 10
    assert (await balance(client, admin))["balance"] == "0.00"
    rows = await fetch(
        system.database_urls["billing"],
        "SELECT min(balance_after_minor) AS low, count(*) AS n FROM ledger_entry WHERE account_id = $1",
        admin.account_id,
    )
    assert rows[0]["low"] == 0 and rows[0]["n"] == 11

    monkeypatch.setenv("TOLLGATE_BILLING_DATABASE_URL", system.database_urls["billing"])
    monkeypatch.setenv("TOLLGATE_SECRET_KEY", TEST_SECRET_KEY)  # an operator's environment is the platform's
    monkeypatch.setenv("TOLLGATE_INTERNAL_KEY", TEST_INTERNAL_KEY)
    assert await asyncio.to_thread(main, ["billing", "reconcile"]) == 0
    await fetch(
        system.database_urls["billing"],
        "UPDATE wallet SET balance_minor = balance_minor + 1 WHERE account_id = $1",
        admin.account_id,
    )
    assert await asyncio.to_thread(main, ["billing", "reconcile"]) == 1


async def test_balance_low_is_published_once_per_crossing(billing: Any) -> None:
    client, system = billing
    admin = await client.sign_up()
    await apply(system, admin.account_id, 100_00, "top-up-1")
    assert (
        await client.call("PUT", "/api/billing/threshold", admin, json={"low_balance_threshold": "50.00"})
    ).status_code == 200
    for n, amount in enumerate((-40_00, -20_00, -10_00)):  # 60, 40 (crossing), 30
        await apply(system, admin.account_id, amount, f"o{n}", kind="order")
    assert (await balance(client, admin))["below_threshold"] is True
    await apply(system, admin.account_id, 50_00, "top-up-2")  # 80: back above
    assert (await balance(client, admin))["below_threshold"] is False
    await apply(system, admin.account_id, -60_00, "o9", kind="order")  # 20: crossing again
    stored = await fetch(
        system.database_urls["billing"], "SELECT below_threshold FROM wallet WHERE account_id = $1", admin.account_id
    )
    assert stored[0]["below_threshold"] is True  # the flag the wallet's UPDATE keeps
    rows = await fetch(
        system.database_urls["billing"],
        "SELECT payload FROM outbox WHERE event_type = 'billing.balance.low' ORDER BY seq",
    )
    assert [json.loads(r["payload"])["data"]["balance"] for r in rows] == ["40.00", "20.00"]
    credits = await fetch(
        system.database_urls["billing"], "SELECT payload FROM outbox WHERE event_type = 'billing.credits.added'"
    )
    assert len(credits) == 2


async def test_another_account_sees_only_its_own_wallet(billing: Any) -> None:
    client, system = billing
    alice, bob = await client.sign_up(), await client.sign_up()
    await apply(system, alice.account_id, 70_00, str(uuid.uuid4()))
    assert (await balance(client, alice))["balance"] == "70.00"
    assert (await balance(client, bob))["balance"] == "0.00"
    assert (await client.call("GET", "/api/billing/ledger", bob)).json()["total"] == 0
