"""When the credits run out (`GET /api/billing/forecast`) and the balance day by day
(`GET /api/billing/balance/history`), through the gateway, from the ledger."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from tests.support.auth_client import AuthClient
from tests.support.billing import CERTIFICATE, apply, sign_up_buyer

pytestmark = pytest.mark.integration


@pytest.fixture
async def shop(start_system: Any) -> AsyncIterator[tuple[AuthClient, Any]]:
    system = await start_system(services=("auth", "billing"))
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as client:
        yield AuthClient(client), system


def india_today() -> date:
    return (datetime.now(UTC) + timedelta(hours=5, minutes=30)).date()


async def backdate(url: str, reference: str, days: int) -> None:
    """Move a ledger entry `days` days into the past, as if it had been written then."""
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await connection.execute(
            "UPDATE ledger_entry SET created_at = created_at - make_interval(days => $2) WHERE reference = $1",
            reference,
            days,
        )
    finally:
        await connection.close()


async def test_an_account_that_spent_nothing_has_no_forecast_and_a_flat_history(shop: Any) -> None:
    client, _ = shop
    admin = await sign_up_buyer(client)
    answer = await client.call("GET", "/api/billing/forecast", admin)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"window_days": 30, "daily_spend": None, "days_left": None, "runs_out_on": None}
    history = (await client.call("GET", "/api/billing/balance/history?days=7", admin)).json()
    assert [p["balance"] for p in history["points"]] == ["0.00"] * 7
    assert history["points"][-1]["date"] == india_today().isoformat()
    assert (history["days"], history["balance"], history["low_balance_threshold"]) == (7, "0.00", "0.00")


async def test_the_forecast_averages_the_last_30_days_of_debits_and_the_history_closes_each_day(shop: Any) -> None:
    client, system = shop
    admin, other = await sign_up_buyer(client), await sign_up_buyer(client)
    url = system.database_urls["billing"]
    await apply(system, admin.account_id, 5000_00, "top-up")
    await backdate(url, "top-up", 40)
    for order_id in ("old-order", "new-order"):  # 1,180.00 each, paid from credits
        placed = await client.call(
            "POST", "/api/billing/orders", admin, json={"order_id": order_id, "items": [CERTIFICATE]}
        )
        assert placed.json()["status"] == "paid", placed.text
    await backdate(url, "old-order", 35)  # outside the 30 days

    forecast = (await client.call("GET", "/api/billing/forecast", admin)).json()
    # 1,180.00 / 30 = 39.333… a day; 2,640.00 lasts 2,640 x 30 // 1,180 = 67 whole days.
    assert forecast == {
        "window_days": 30,
        "daily_spend": "39.33",
        "days_left": 67,
        "runs_out_on": (india_today() + timedelta(days=67)).isoformat(),
    }

    history = (await client.call("GET", "/api/billing/balance/history", admin)).json()
    points = {p["date"]: p["balance"] for p in history["points"]}
    assert history["days"] == 90 and len(history["points"]) == 90
    day = lambda ago: (india_today() - timedelta(days=ago)).isoformat()  # noqa: E731
    assert (points[day(41)], points[day(40)], points[day(36)]) == ("0.00", "5000.00", "5000.00")
    assert (points[day(35)], points[day(1)], points[day(0)]) == ("3820.00", "3820.00", "2640.00")
    assert history["balance"] == "2640.00"

    # Another account's ledger is its own.
    assert (await client.call("GET", "/api/billing/forecast", other)).json()["daily_spend"] is None


@pytest.mark.parametrize("days", ["0", "367", "ninety"])
async def test_a_history_of_a_bad_length_is_a_422(shop: Any, days: str) -> None:
    client, _ = shop
    admin = await client.sign_up()
    answer = await client.call("GET", f"/api/billing/balance/history?days={days}", admin)
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "query.days", answer.text


async def test_the_forecast_and_history_need_a_session(shop: Any) -> None:
    client, _ = shop
    for path in ("/api/billing/forecast", "/api/billing/balance/history"):
        assert (await client.call("GET", path)).status_code == 401
