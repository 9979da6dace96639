"""Every timestamp says its offset (DESIGN §10), on PostgreSQL and on the embedded default's SQLite.

SQLite keeps no offset: a time read back from it used to be naive, so answers
said `2026-12-02T00:08:39.583887` (not the OpenAPI `date-time` format) and
comparing it with the aware time of now raised a 500.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.support.auth_client import AuthClient, User
from tests.support.harness import fetch, wait_for

pytestmark = pytest.mark.integration

RFC3339_WITH_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
LOOKS_LIKE_A_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T")
CERTIFICATE = {"description": "OV SSL certificate, 1 year", "sac": "998319", "quantity": 1, "unit_price": "500.00"}
PROFILE = {"legal_name": "Acme Private Limited", "address": "1 MG Road", "state": "Karnataka", "gstin": None}


@pytest.fixture(params=[False, True], ids=["postgresql", "sqlite"])
async def portal(request: pytest.FixtureRequest, start_system: Any) -> AsyncIterator[tuple[AuthClient, Any]]:
    system = await start_system(embedded=request.param)
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as client:
        yield AuthClient(client), system


def times_in(value: Any, path: str = "") -> dict[str, str]:
    """Every string in a JSON value that reads as a date and time, by where it is (`items.0.created_at`)."""
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in times_in(item, f"{path}.{key}".lstrip(".")).items()}
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in times_in(item, f"{path}.{i}".lstrip(".")).items()}
    return {path: value} if isinstance(value, str) and LOOKS_LIKE_A_TIME.match(value) else {}


async def rows(url: str, sql: str) -> list[dict[str, Any]]:
    """The rows of `sql` on a service's database, PostgreSQL or SQLite."""
    if not url.startswith("sqlite"):
        return [dict(row) for row in await fetch(url, sql)]

    def read() -> list[dict[str, Any]]:
        with sqlite3.connect(url.split("///", 1)[1]) as connection:
            connection.row_factory = sqlite3.Row
            return [dict(row) for row in connection.execute(sql)]

    return await asyncio.to_thread(read)


async def test_a_throttled_login_answers_429_with_retry_after(portal: tuple[AuthClient, Any]) -> None:
    client, _ = portal
    admin = await client.sign_up()
    wrong = {"email": admin.email, "password": "wrong password"}
    # Fail until blocked for 4 s (1, 2, 4 s after the 5th, 6th, 7th counted failure; a
    # refused attempt does not count, so each shorter block is waited out): long
    # enough for the next request to land in it on a slow machine.
    blocked_for = 0
    while blocked_for < 4:
        failed = await client.call("POST", "/api/auth/login", json=wrong)
        assert failed.status_code in (401, 429), failed.text
        if failed.status_code == 429:
            blocked_for = int(failed.headers["retry-after"])
            if blocked_for < 4:
                await asyncio.sleep(blocked_for)

    throttled = await client.login(admin)

    assert throttled.status_code == 429, throttled.text
    assert int(throttled.headers["retry-after"]) >= 1


async def test_every_timestamp_in_answers_and_events_carries_its_offset(portal: tuple[AuthClient, Any]) -> None:
    client, system = portal
    admin = await client.sign_up()
    await client.add_user(admin)
    await client.call(
        "POST", "/api/account/ip-restrictions", admin, json={"start_ip": "0.0.0.0", "end_ip": "255.255.255.255"}
    )
    assert (await client.call("PUT", "/api/billing/profile", admin, json=PROFILE)).status_code == 200
    payment_id = await pay_online(client, admin, "1000.00")
    offline = {"amount": "250.00", "mode": "neft", "reference": "UTR-1", "paid_on": "2026-01-15"}
    assert (await client.call("POST", "/api/billing/credits/offline", admin, json=offline)).status_code == 202
    placed = await client.call("POST", "/api/billing/orders", admin, json={"order_id": "o-1", "items": [CERTIFICATE]})
    assert placed.status_code == 201 and placed.json()["status"] == "paid", placed.text

    answers: dict[str, Any] = {"placed order": placed.json()}
    for path in (
        "/api/account/users",
        "/api/account/ip-restrictions",
        "/api/account/audit-log",
        "/api/billing/ledger",
        "/api/billing/offline-payments",
        "/api/billing/orders",
        "/api/billing/orders/o-1",
        "/api/invoices",
    ):
        answer = await client.call("GET", path, admin)
        assert answer.status_code == 200, (path, answer.text)
        answers[path] = answer.json()
    answers["payment"] = (await client.call("GET", f"/api/billing/payments/{payment_id}", admin)).json()

    times = {f"{where} {path}": value for where, answer in answers.items() for path, value in times_in(answer).items()}
    assert {key for key in times if key.endswith((".created_at", " created_at", " paid_at", " completed_at"))}
    for needed in (
        "/api/account/audit-log items.0.created_at",
        "/api/billing/orders/o-1 paid_at",
        "payment completed_at",
    ):
        assert needed in times, needed
    assert {key: value for key, value in times.items() if not RFC3339_WITH_OFFSET.match(value)} == {}

    events = await wait_for(lambda: order_paid_events(system.database_urls["billing"]))
    event_times = {f"{e['type']} {path}": v for e in events for path, v in times_in(e).items()}
    assert "billing.order.paid occurred_at" in event_times and "billing.order.paid data.paid_at" in event_times
    assert {key: value for key, value in event_times.items() if not RFC3339_WITH_OFFSET.match(value)} == {}


async def pay_online(client: AuthClient, admin: User, amount: str) -> str:
    started = await client.call("POST", "/api/billing/credits/online", admin, json={"amount": amount})
    assert started.status_code == 201, started.text
    paid = await client.client.post(started.json()["redirect_url"], data={"card_number": "4242424242424242"})
    assert paid.status_code == 303, paid.text
    return str(started.json()["payment_id"])


async def order_paid_events(url: str) -> list[dict[str, Any]]:
    found = await rows(url, "SELECT payload FROM outbox WHERE event_type LIKE 'billing.%' ORDER BY seq")
    events = [json.loads(row["payload"]) for row in found]
    return events if any(e["type"] == "billing.order.paid" for e in events) else []


async def test_sessions_and_totp_challenges_compare_their_expiry_with_now(portal: tuple[AuthClient, Any]) -> None:
    """A refresh and a TOTP enrolment each compare a stored expiry with the time of now."""
    client, _ = portal
    admin = await client.sign_up()
    refreshed = await client.call("POST", "/api/auth/refresh", json={"refresh_token": admin.refresh_token})
    assert refreshed.status_code == 200, refreshed.text
    await client.enforce(admin)
    member = await client.add_user(admin)

    await client.enrol(member)  # the setup challenge is found live, then spent

    assert (await client.call("GET", "/api/auth/me", member)).status_code == 200
