"""Orders: GST from the billing profile, paid from credits once, idempotent order ids, events for invoicing."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

import billing.api.orders
from tests.support.auth_client import AuthClient, User
from tests.support.billing import (
    CERTIFICATE,
    SELLER_STATE_GSTIN,
    apply,
    balance,
    give_profile,
    set_profile,
    sign_up_buyer,
)
from tests.support.harness import fetch, wait_for

pytestmark = pytest.mark.integration

OTHER_STATE_GSTIN = "27AAPFU0939F1ZV"  # Maharashtra


@pytest.fixture
async def shop(start_system: Any) -> AsyncIterator[tuple[AuthClient, Any]]:
    system = await start_system(services=("auth", "billing"))
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as client:
        yield AuthClient(client), system


async def order(client: AuthClient, user: User, **body: Any) -> httpx.Response:
    return await client.call("POST", "/api/billing/orders", user, json={"items": [CERTIFICATE], **body})


async def test_inter_state_order_is_igst_and_paid_from_credits(shop: Any) -> None:
    client, system = shop
    admin = await client.sign_up()
    assert (await set_profile(client, admin, "Maharashtra", OTHER_STATE_GSTIN)).status_code == 200
    await apply(system, admin.account_id, 2000_00, "top-up")

    answer = await order(client, admin, order_id="ord-1")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["status"] == "paid" and body["subtotal"] == "1000.00" and body["total"] == "1180.00"
    assert body["tax"] == {"cgst": "0.00", "sgst": "0.00", "igst": "180.00"}
    assert body["buyer"]["gstin"] == OTHER_STATE_GSTIN and body["place_of_supply"] == "Maharashtra"
    assert (await balance(client, admin))["balance"] == "820.00"

    rows = await fetch(
        system.database_urls["billing"],
        "SELECT event_type, payload FROM outbox WHERE event_type LIKE 'billing.order.%' ORDER BY seq",
    )
    assert [r["event_type"] for r in rows] == ["billing.order.placed", "billing.order.paid"]
    paid = json.loads(rows[1]["payload"])["data"]
    assert (
        paid["lines"][0]["igst"] == "180.00"
        and paid["buyer"]["legal_name"] == "Acme Private Limited"
        and paid["method"] == "credits"
    )
    # Written before the money moved, it names the ledger entry that paid it.
    entries = await fetch(
        system.database_urls["billing"], "SELECT id FROM ledger_entry WHERE kind = 'order' AND reference = 'ord-1'"
    )
    assert [entry["id"] for entry in entries] == [paid["payment_reference"]]


async def test_intra_state_order_without_credits_awaits_payment_then_is_paid(shop: Any) -> None:
    client, system = shop
    admin = await client.sign_up()
    assert (await set_profile(client, admin, "Karnataka", SELLER_STATE_GSTIN)).status_code == 200
    answer = await order(client, admin, order_id="ord-2")
    assert answer.status_code == 201 and answer.json()["status"] == "awaiting_payment"
    assert answer.json()["tax"] == {"cgst": "90.00", "sgst": "90.00", "igst": "0.00"}
    announced = await fetch(
        system.database_urls["billing"],
        "SELECT event_type, payload FROM outbox WHERE event_type LIKE 'billing.order.%' ORDER BY seq",
    )
    # Announced as awaiting payment only: the paid event written before the balance fell short is gone.
    assert [(r["event_type"], json.loads(r["payload"])["data"]["status"]) for r in announced] == [
        ("billing.order.placed", "awaiting_payment")
    ]

    short = await client.call("POST", "/api/billing/orders/ord-2/pay", admin, json={"method": "credits"})
    assert short.status_code == 402 and short.json()["code"] == "insufficient_credits"
    await apply(system, admin.account_id, 1180_00, "top-up")
    paid = await client.call("POST", "/api/billing/orders/ord-2/pay", admin, json={"method": "credits"})
    assert paid.status_code == 200 and paid.json()["status"] == "paid"
    again = await client.call("POST", "/api/billing/orders/ord-2/pay", admin, json={"method": "credits"})
    assert again.status_code == 200 and (await balance(client, admin))["balance"] == "0.00"


async def test_an_order_without_a_billing_profile_is_refused_naming_what_is_missing_and_changes_nothing(
    shop: Any,
) -> None:
    client, system = shop
    admin = await client.sign_up()
    await apply(system, admin.account_id, 5000_00, "top-up")
    url = system.database_urls["billing"]
    events_before = await fetch(url, "SELECT count(*) AS n FROM outbox")

    refused = await order(client, admin, order_id="ord-nopro")
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["code"] == "billing_profile_required"
    assert [e["field"] for e in problem["errors"]] == [
        "billing_profile.legal_name",
        "billing_profile.address",
        "billing_profile.state",
    ]
    assert "legal name, address and state are missing" in problem["detail"]
    # Nothing changed: no order, no money, no event.
    assert (await client.call("GET", "/api/billing/orders", admin)).json()["total"] == 0
    assert (await balance(client, admin))["balance"] == "5000.00"
    assert await fetch(url, "SELECT count(*) AS n FROM outbox") == events_before
    assert await fetch(url, "SELECT 1 FROM ledger_entry WHERE kind = 'order'") == []

    # Once the profile is set, the same order id is placed (the refusal was not kept as its answer).
    await give_profile(client, admin)
    placed = await order(client, admin, order_id="ord-nopro")
    assert placed.status_code == 201 and placed.json()["status"] == "paid", placed.text
    assert placed.json()["buyer"] == {
        "legal_name": "Acme Private Limited",
        "address": "1 MG Road",
        "state": "Karnataka",
        "gstin": None,
    }
    assert (await balance(client, admin))["balance"] == "3820.00"


async def test_the_same_order_id_is_charged_once_even_concurrently(shop: Any) -> None:
    client, system = shop
    admin = await sign_up_buyer(client)
    await apply(system, admin.account_id, 5000_00, "top-up")
    answers = await asyncio.gather(*(order(client, admin, order_id="same") for _ in range(8)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["created_at"] for a in answers}) == 1
    assert (await balance(client, admin))["balance"] == "3820.00"
    different = await client.call(
        "POST", "/api/billing/orders", admin, json={"order_id": "same", "items": [{**CERTIFICATE, "quantity": 3}]}
    )
    assert different.status_code == 409 and different.json()["code"] == "order_id_conflict"
    assert (await balance(client, admin))["balance"] == "3820.00"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"items": []}, "items"),
        ({"items": [{**CERTIFICATE, "unit_price": 500.0}]}, "items.0.unit_price"),
        ({"items": [{**CERTIFICATE, "unit_price": "0.00"}]}, "items.0.unit_price"),
        ({"items": [{**CERTIFICATE, "sac": "12345"}]}, "items.0.sac"),
        ({"items": [{**CERTIFICATE, "quantity": 0}]}, "items.0.quantity"),
        ({"order_id": "no spaces please", "items": [CERTIFICATE]}, "order_id"),
    ],
)
async def test_bad_orders_are_422_and_change_nothing(shop: Any, body: dict[str, Any], field: str) -> None:
    client, _ = shop
    admin = await sign_up_buyer(client)
    answer = await client.call("POST", "/api/billing/orders", admin, json=body)
    assert answer.status_code == 422 and field in [e["field"] for e in answer.json()["errors"]], answer.text
    assert (await client.call("GET", "/api/billing/orders", admin)).json()["total"] == 0


@pytest.mark.parametrize(
    ("state", "gstin", "field"),
    [
        ("Atlantis", None, "state"),
        ("Karnataka", OTHER_STATE_GSTIN, "gstin"),
        ("Maharashtra", "27AAPFU0939F1ZA", "gstin"),
    ],
)
async def test_bad_profiles_are_422(shop: Any, state: str, gstin: str | None, field: str) -> None:
    client, _ = shop
    admin = await client.sign_up()
    answer = await set_profile(client, admin, state, gstin)
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == field


async def test_the_states_a_profile_may_name_are_listed_and_each_is_accepted(shop: Any) -> None:
    client, _ = shop
    admin = await client.sign_up()
    states = (await client.call("GET", "/api/billing/profile/states", admin)).json()
    names = [state["name"] for state in states]
    assert names == sorted(names) and len(names) == len(set(names)) >= 36
    assert {"code": "29", "name": "Karnataka"} in states
    for state in states[:3] + states[-3:]:  # what the form offers, billing takes
        assert (await set_profile(client, admin, state["name"], None)).status_code == 200
    assert (await client.call("GET", "/api/billing/profile/states")).status_code == 401  # users only


async def test_another_accounts_order_is_404(shop: Any) -> None:
    client, _ = shop
    alice, bob = await sign_up_buyer(client), await client.sign_up()
    await order(client, alice, order_id="alice-1")
    assert (await client.call("GET", "/api/billing/orders/alice-1", bob)).status_code == 404
    assert (
        await client.call("POST", "/api/billing/orders/alice-1/pay", bob, json={"method": "credits"})
    ).status_code == 404
    assert (await client.call("GET", "/api/billing/orders/alice-1", alice)).status_code == 200


@contextlib.asynccontextmanager
async def holding_the_wallet(url: str, account_id: str) -> AsyncIterator[asyncpg.Connection]:
    """A transaction of another connection that holds the account's wallet lock until the block ends."""
    other = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        async with other.transaction():
            await other.execute("SELECT 1 FROM wallet WHERE account_id = $1 FOR UPDATE", account_id)
            yield other
    finally:
        await other.close()


async def lock_waiter(url: str) -> asyncpg.Record | None:
    """The billing database's backend waiting for a lock, if one is: its pid and statement."""
    rows = await fetch(
        url,
        "SELECT pid, query FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
    )
    return rows[0] if rows else None


async def a_backend_waits_for_a_lock(url: str) -> bool:
    return await lock_waiter(url) is not None


async def test_an_order_takes_its_wallets_lock_last_with_the_order_and_its_events_written(shop: Any) -> None:
    """One account's orders queue on its wallet's lock: an order asks for it once the order and its events are
    written (billing/adapters/paid_order_store.py: in one statement, the move's part last)."""
    client, system = shop
    admin = await sign_up_buyer(client)
    await apply(system, admin.account_id, 1180_00, "top-up")
    url = system.database_urls["billing"]
    async with holding_the_wallet(url, admin.account_id):
        placing = asyncio.create_task(order(client, admin, order_id="ord-last"))
        await wait_for(lambda: a_backend_waits_for_a_lock(url))
        waiter = await lock_waiter(url)
        assert waiter is not None
        # Waiting: the one statement that places the order, at the move of the money...
        assert waiter["query"].startswith("WITH placed AS")
        # ...after its order and its events were written.
        written = await fetch(
            url,
            "SELECT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE l.pid = $1 AND l.mode = 'RowExclusiveLock'",
            waiter["pid"],
        )
        assert {"order", "outbox"} <= {row["relname"] for row in written}
    placed = await placing
    assert placed.status_code == 201 and placed.json()["status"] == "paid"


async def test_paying_an_order_takes_the_wallet_lock_before_the_orders(shop: Any) -> None:
    """A credited online payment holds the wallet, then locks its order: paying the order from credits
    meanwhile must wait for the wallet without holding the order, or the two would deadlock."""
    client, system = shop
    admin = await sign_up_buyer(client)
    assert (await order(client, admin, order_id="ord-lock")).json()["status"] == "awaiting_payment"
    await apply(system, admin.account_id, 1180_00, "top-up")
    url = system.database_urls["billing"]
    # As the payment's fulfilment does: the wallet first.
    async with holding_the_wallet(url, admin.account_id) as other:
        paying = asyncio.create_task(
            client.call("POST", "/api/billing/orders/ord-lock/pay", admin, json={"method": "credits"})
        )
        await wait_for(lambda: a_backend_waits_for_a_lock(url))
        # Then the order: free, because the payer waits for the wallet without holding it.
        locked = await other.fetch(
            'SELECT 1 FROM "order" WHERE account_id = $1 AND order_id = $2 FOR UPDATE NOWAIT',
            admin.account_id,
            "ord-lock",
        )
        assert len(locked) == 1
    paid = await paying
    assert paid.status_code == 200 and paid.json()["status"] == "paid"


async def test_a_process_lets_two_of_one_accounts_orders_in_at_once_and_other_accounts_pass(
    start_system: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = await start_system(services=("auth", "billing"), billing_settings={"orders_per_account_at_once": 2})
    inside: dict[str, int] = {}
    most_inside: dict[str, int] = {}
    real_place_order = billing.api.orders.place_order

    async def place_order_slowly(db: Any, **fields: Any) -> Any:
        account = fields["account_id"]
        inside[account] = inside.get(account, 0) + 1
        most_inside[account] = max(most_inside.get(account, 0), inside[account])
        try:
            await asyncio.sleep(0.05)  # long enough for the others to arrive
            return await real_place_order(db, **fields)
        finally:
            inside[account] -= 1

    monkeypatch.setattr(billing.api.orders, "place_order", place_order_slowly)
    async with httpx.AsyncClient(base_url=system.gateway, timeout=30) as http:
        client = AuthClient(http)
        busy, other = await sign_up_buyer(client), await sign_up_buyer(client)
        await apply(system, busy.account_id, 20_000_00, "top-up")
        answers = await asyncio.gather(
            *(order(client, busy, order_id=f"busy-{n}") for n in range(8)), order(client, other, order_id="other")
        )
        assert [a.status_code for a in answers] == [201] * 9
        assert answers[-1].json()["status"] == "awaiting_payment"  # the other account had no credits
        assert (await balance(client, busy))["balance"] == "10560.00"  # 8 orders of 1,180.00, each charged once

    assert most_inside == {busy.account_id: 2, other.account_id: 1}
    assert system.apps["billing"].state.account_gate.accounts() == 0  # nothing kept for idle accounts
