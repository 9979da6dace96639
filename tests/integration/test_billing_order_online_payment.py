"""Paying an order online (DESIGN §10): only the shortfall is charged, within the online payment limits.

The shortfall is the order's total less the balance. Below
`TOLLGATE_ONLINE_PAYMENT_MIN` the minimum is charged (the rest stays as
credits); above `TOLLGATE_ONLINE_PAYMENT_MAX` it is a 422 naming the limit;
none (the credits cover it) pays the order from credits. The payment credits
the wallet and the order is then paid from credits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.support.auth_client import AuthClient, User
from tests.support.billing import GOOD_CARD, apply, balance, pay_on_page, sign_up_buyer
from tests.support.harness import fetch

pytestmark = pytest.mark.integration

CERTIFICATE = {"description": "OV SSL, 1 year", "sac": "998319", "quantity": 1, "unit_price": "1000.00"}  # 1,180.00


@pytest.fixture
async def shop(start_system: Any) -> AsyncIterator[tuple[AuthClient, Any]]:
    # Limits small enough to reach with ordinary orders: 100.00 to 1,000.00 per online payment.
    limits = {"online_payment_min": "100.00", "online_payment_max": "1000.00"}
    system = await start_system(services=("auth", "billing"), billing_settings=limits)
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as client:
        yield AuthClient(client), system


async def awaiting_order(client: AuthClient, user: User, order_id: str, item: dict[str, Any] = CERTIFICATE) -> str:
    placed = await client.call("POST", "/api/billing/orders", user, json={"order_id": order_id, "items": [item]})
    assert placed.status_code == 201 and placed.json()["status"] == "awaiting_payment", placed.text
    return str(placed.json()["total"])


async def pay_online(client: AuthClient, user: User, order_id: str) -> httpx.Response:
    return await client.call("POST", f"/api/billing/orders/{order_id}/pay", user, json={"method": "online"})


async def ledger(system: Any, account_id: str) -> list[tuple[str, int]]:
    rows = await fetch(
        system.database_urls["billing"],
        "SELECT kind, amount_minor FROM ledger_entry WHERE account_id = $1 ORDER BY created_at",
        account_id,
    )
    return [(row["kind"], row["amount_minor"]) for row in rows]


async def test_paying_an_order_online_charges_only_what_the_balance_lacks(shop: Any) -> None:
    client, system = shop
    admin = await sign_up_buyer(client)
    assert await awaiting_order(client, admin, "ORD-1") == "1180.00"
    await apply(system, admin.account_id, 500_00, "earlier credits")

    answer = await pay_online(client, admin, "ORD-1")
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "awaiting_payment" and answer.json()["payment"]["amount"] == "680.00"
    await pay_on_page(client, answer.json()["payment"]["redirect_url"], GOOD_CARD)

    assert (await client.call("GET", "/api/billing/orders/ORD-1", admin)).json()["status"] == "paid"
    assert (await balance(client, admin))["balance"] == "0.00"
    assert await ledger(system, admin.account_id) == [
        ("adjustment", 500_00),
        ("online_payment", 680_00),
        ("order", -1180_00),
    ]


async def test_a_shortfall_below_the_minimum_is_charged_the_minimum_and_the_rest_stays_as_credits(shop: Any) -> None:
    client, system = shop
    admin = await sign_up_buyer(client)
    assert await awaiting_order(client, admin, "small", {**CERTIFICATE, "unit_price": "10.00"}) == "11.80"

    answer = await pay_online(client, admin, "small")
    assert answer.status_code == 200 and answer.json()["payment"]["amount"] == "100.00", answer.text
    await pay_on_page(client, answer.json()["payment"]["redirect_url"], GOOD_CARD)

    assert (await client.call("GET", "/api/billing/orders/small", admin)).json()["status"] == "paid"
    assert (await balance(client, admin))["balance"] == "88.20"
    assert await ledger(system, admin.account_id) == [("online_payment", 100_00), ("order", -11_80)]


async def test_a_shortfall_above_the_maximum_is_a_422_naming_the_limit_and_opens_no_checkout(shop: Any) -> None:
    client, system = shop
    admin = await sign_up_buyer(client)
    await awaiting_order(client, admin, "ORD-2")  # 1,180.00 with no credits: above the 1,000.00 limit

    refused = await pay_online(client, admin, "ORD-2")
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert error["field"] == "method" and "1180.00" in error["message"] and "1000.00" in error["message"], error
    assert await fetch(system.database_urls["billing"], "SELECT 1 FROM payment") == []
    assert await fetch(system.database_urls["billing"], "SELECT 1 FROM sandbox_checkout") == []

    await apply(system, admin.account_id, 500_00, "earlier credits")  # now it lacks 680.00
    answer = await pay_online(client, admin, "ORD-2")
    assert answer.status_code == 200 and answer.json()["payment"]["amount"] == "680.00", answer.text


async def test_an_order_the_balance_covers_is_paid_from_credits_without_a_checkout(shop: Any) -> None:
    client, system = shop
    admin = await sign_up_buyer(client)
    await awaiting_order(client, admin, "ORD-3")
    await apply(system, admin.account_id, 2000_00, "credits arrived since")

    answer = await pay_online(client, admin, "ORD-3")
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "paid" and answer.json()["payment"] is None
    assert (await balance(client, admin))["balance"] == "820.00"
    assert await fetch(system.database_urls["billing"], "SELECT 1 FROM payment") == []


async def test_online_top_ups_keep_the_same_limits(shop: Any) -> None:
    client, _ = shop
    admin = await client.sign_up()
    for amount, status in (("99.99", 422), ("100.00", 201), ("1000.00", 201), ("1000.01", 422)):
        answer = await client.call("POST", "/api/billing/credits/online", admin, json={"amount": amount})
        assert answer.status_code == status, (amount, answer.text)


async def test_an_awaiting_order_says_what_paying_it_online_would_charge_now(shop: Any) -> None:
    client, system = shop
    admin = await sign_up_buyer(client)
    await awaiting_order(client, admin, "ORD-Q")  # 1,180.00

    async def quoted() -> Any:
        answer = await client.call("GET", "/api/billing/orders/ORD-Q", admin)
        assert answer.status_code == 200, answer.text
        return answer.json()["online_charge"]

    assert await quoted() is None  # 1,180.00 lacking: above the 1,000.00 limit, it cannot be paid online
    await apply(system, admin.account_id, 500_00, "some credits")
    assert await quoted() == "680.00"  # the shortfall
    await apply(system, admin.account_id, 600_00, "more credits")
    assert await quoted() == "100.00"  # 80.00 lacking: the smallest online payment, the rest stays as credits
    answer = await pay_online(client, admin, "ORD-Q")
    assert answer.json()["payment"]["amount"] == "100.00", answer.text  # what was quoted
    await apply(system, admin.account_id, 100_00, "enough")
    assert await quoted() == "0.00"  # the credits cover it
    listed = (await client.call("GET", "/api/billing/orders", admin)).json()["items"]
    assert listed[0]["online_charge"] is None  # quoted only on the order's own page
