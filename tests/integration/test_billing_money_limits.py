"""Amounts beyond the money range: refused with a clear problem, never a 500, and nothing changes.

The largest amount billing takes or keeps is `tollgate_shared.money.MAX_AMOUNT`
(1,000,000,000,000.00): an order's total, a balance, a top-up. An order above it
is a 422; a credit that would take a balance above it is a 409 `balance_limit`,
whichever way it arrives (online checkout, offline submission, staff approval);
a finance service's approval that would is recorded as a rejection saying why.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.auth_client import AuthClient
from tests.harness import fetch
from tests.integration.test_billing_wallet import balance
from tollgate_shared.money import MAX_AMOUNT, to_minor

pytestmark = pytest.mark.integration

MAX_MINOR = to_minor(MAX_AMOUNT)
LINE = {"description": "EV SSL, 1 year", "sac": "998319", "quantity": 1}


@pytest.fixture
async def office(start_system: Any) -> AsyncIterator[tuple[AuthClient, Any]]:
    # The test broker's only user is guest: it plays the finance service's login here.
    system = await start_system(services=("auth", "billing"), billing_settings={"finance_broker_user": "guest"})
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as client:
        yield AuthClient(client), system


async def rows(system: Any, sql: str, *args: Any) -> list[Any]:
    return await fetch(system.database_urls["billing"], sql, *args)


async def events_of(system: Any, prefix: str) -> list[str]:
    found = await rows(system, "SELECT event_type FROM outbox WHERE event_type LIKE $1 ORDER BY seq", prefix + "%")
    return [r["event_type"] for r in found]


@pytest.mark.parametrize(
    "items",
    [
        # One line: 100,000 times 100,000,000.00 is 10,000,000,000,000.00 before tax.
        [{**LINE, "quantity": 100_000, "unit_price": "100000000.00"}],
        # Many lines, each in range: 100 lines of 10,000,000,000.00 is the maximum before tax; the tax takes it past.
        [{**LINE, "description": f"line {n}", "quantity": 1000, "unit_price": "10000000.00"} for n in range(100)],
        # Past what a 64-bit column of paise holds (10^19 before tax).
        [
            {**LINE, "description": f"line {n}", "quantity": 100_000, "unit_price": "1000000000000.00"}
            for n in range(100)
        ],
        # One paisa past the largest order billing takes (below).
        [{**LINE, "unit_price": "847457627118.65"}],
    ],
    ids=["large-quantity", "many-lines", "beyond-64-bits", "one-paisa-over"],
)
async def test_an_order_whose_total_is_beyond_the_maximum_is_a_422_and_records_nothing(
    office: Any, items: list[dict[str, Any]]
) -> None:
    client, system = office
    admin = await client.sign_up()
    answer = await client.call("POST", "/api/billing/orders", admin, json={"order_id": "huge", "items": items})
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    [error] = answer.json()["errors"]
    assert error["field"] == "items" and "1000000000000.00" in error["message"], error
    assert (await client.call("GET", "/api/billing/orders", admin)).json()["total"] == 0
    assert await events_of(system, "billing.order.") == []
    assert (await balance(client, admin))["balance"] == "0.00"


async def test_an_order_of_exactly_the_maximum_is_taken(office: Any) -> None:
    client, _ = office
    admin = await client.sign_up()
    # 847,457,627,118.64 + 9 % CGST + 9 % SGST (76,271,186,440.68 each) = 1,000,000,000,000.00.
    items = [{**LINE, "unit_price": "847457627118.64"}]
    answer = await client.call("POST", "/api/billing/orders", admin, json={"order_id": "largest", "items": items})
    assert answer.status_code == 201, answer.text
    assert answer.json()["total"] == "1000000000000.00" and answer.json()["status"] == "awaiting_payment"
