"""Retries never move money twice (DESIGN §10): `Idempotency-Key` on the three POSTs that move money.

The same key with the same body answers the first answer again (status and
body, byte for byte) and changes nothing; with another body, or on another
endpoint, it is a 409 `idempotency_key_reused`. Keys belong to an account.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from billing.adapters.tables import idempotency_key
from billing.use_cases.idempotency import KEEP_KEYS_FOR, forget_expired_keys
from tests.support.auth_client import AuthClient, User, finance_staff
from tests.support.billing import GOOD_CARD, apply, balance, pay_on_page, sign_up_buyer
from tests.support.harness import fetch

pytestmark = pytest.mark.integration

TRANSFER = {"amount": "5000.00", "mode": "neft", "reference": "UTR0001", "paid_on": str(date.today()), "bank": "HDFC"}
CERTIFICATE = {"description": "OV SSL, 1 year", "sac": "998319", "quantity": 1, "unit_price": "1000.00"}  # 1,180.00
OFFLINE, ONLINE = "/api/billing/credits/offline", "/api/billing/credits/online"


@pytest.fixture(params=["distributed", "embedded"])
async def shop(request: pytest.FixtureRequest, start_system: Any) -> AsyncIterator[tuple[AuthClient, Any]]:
    """auth and billing through the gateway: PostgreSQL and RabbitMQ, or SQLite and the in-process bus."""
    system = await start_system(services=("auth", "billing"), embedded=request.param == "embedded")
    async with httpx.AsyncClient(base_url=system.gateway, timeout=60) as client:
        yield AuthClient(client), system


async def post(client: AuthClient, user: User, path: str, body: dict[str, Any], key: str | bytes) -> httpx.Response:
    headers = {**client.headers(user), "Idempotency-Key": key}
    return await client.client.post(path, json=body, headers=headers)


async def listed(client: AuthClient, user: User, path: str) -> list[dict[str, Any]]:
    answer = await client.call("GET", path, user, params={"page_size": 100})
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


def same_answer(first: httpx.Response, again: httpx.Response) -> None:
    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert again.headers["content-type"] == first.headers["content-type"] == "application/json"
    assert again.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers


def reused(answer: httpx.Response) -> None:
    assert answer.status_code == 409, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == "idempotency_key_reused"


async def test_a_retried_offline_submission_answers_the_first_answer_and_is_recorded_once(shop: Any) -> None:
    client, _ = shop
    admin, other = await client.sign_up(), await client.sign_up()
    first = await post(client, admin, OFFLINE, TRANSFER, "retry-1")
    assert first.status_code == 202, first.text
    # The client saw a 502 and tries again, with the body's members in another order.
    same_answer(first, await post(client, admin, OFFLINE, dict(reversed(TRANSFER.items())), "retry-1"))
    assert [p["id"] for p in await listed(client, admin, "/api/billing/offline-payments")] == [first.json()["id"]]

    reused(await post(client, admin, OFFLINE, {**TRANSFER, "reference": "UTR0002"}, "retry-1"))
    reused(await post(client, admin, ONLINE, {"amount": "500.00"}, "retry-1"))  # another endpoint
    assert len(await listed(client, admin, "/api/billing/offline-payments")) == 1
    assert await listed(client, admin, "/api/billing/payments") == []

    # Keys are the account's own: another account's "retry-1" is another request.
    theirs = await post(client, other, OFFLINE, TRANSFER, "retry-1")
    assert theirs.status_code == 202 and theirs.json()["id"] != first.json()["id"], theirs.text


async def test_a_retry_after_finance_approved_the_first_submission_credits_nothing_more(
    office: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 15: billing died after saving the submission, the client retried after finance had approved it."""
    client, system = office
    admin = await client.sign_up()
    staff = await finance_staff(client, system, monkeypatch)
    first = await post(client, admin, OFFLINE, TRANSFER, "transfer-of-5-may")
    assert first.status_code == 202, first.text
    decision = f"/api/finance/offline-payments/{first.json()['id']}/decision"
    assert (await client.call("POST", decision, staff, json={"decision": "approve"})).status_code == 200

    same_answer(first, await post(client, admin, OFFLINE, TRANSFER, "transfer-of-5-may"))
    assert [p["status"] for p in await listed(client, admin, "/api/billing/offline-payments")] == ["approved"]
    assert (await balance(client, admin))["balance"] == "5000.00"
    submitted = await fetch(
        system.database_urls["billing"], "SELECT 1 FROM outbox WHERE event_type = 'billing.offline_payment.submitted'"
    )
    assert len(submitted) == 1


async def test_concurrent_requests_with_one_key_apply_once_and_get_one_answer(shop: Any) -> None:
    client, _ = shop
    admin = await client.sign_up()
    offline = await asyncio.gather(*(post(client, admin, OFFLINE, TRANSFER, "same-click") for _ in range(6)))
    assert {(a.status_code, a.content) for a in offline} == {(202, offline[0].content)}, [a.text for a in offline]
    assert len(await listed(client, admin, "/api/billing/offline-payments")) == 1

    online = await asyncio.gather(*(post(client, admin, ONLINE, {"amount": "500.00"}, "top-up") for _ in range(6)))
    assert {(a.status_code, a.content) for a in online} == {(201, online[0].content)}, [a.text for a in online]
    assert len(await listed(client, admin, "/api/billing/payments")) == 1


async def test_a_retried_online_top_up_answers_the_same_checkout(shop: Any) -> None:
    client, _ = shop
    admin = await client.sign_up()
    first = await post(client, admin, ONLINE, {"amount": "500.00"}, "top-up-1")
    assert first.status_code == 201, first.text
    again = await post(client, admin, ONLINE, {"amount": "500.00"}, "top-up-1")
    same_answer(first, again)
    assert again.json()["redirect_url"] == first.json()["redirect_url"]
    assert [p["payment_id"] for p in await listed(client, admin, "/api/billing/payments")] == [
        first.json()["payment_id"]
    ]
    reused(await post(client, admin, ONLINE, {"amount": "600.00"}, "top-up-1"))
    assert len(await listed(client, admin, "/api/billing/payments")) == 1

    # Paid: the retry still answers what was answered first (a pending checkout), and credits nothing.
    await pay_on_page(client, first.json()["redirect_url"], GOOD_CARD)
    same_answer(first, await post(client, admin, ONLINE, {"amount": "500.00"}, "top-up-1"))
    assert (await balance(client, admin))["balance"] == "500.00"
    # Without a key, every request is a new top-up, as before.
    for _ in range(2):
        assert (await client.call("POST", ONLINE, admin, json={"amount": "500.00"})).status_code == 201
    assert len(await listed(client, admin, "/api/billing/payments")) == 3


async def test_a_retried_order_payment_answers_the_first_answer_and_moves_money_once(shop: Any) -> None:
    client, system = shop
    admin = await sign_up_buyer(client)
    for order_id in ("ORD-1", "ORD-2"):
        placed = await client.call(
            "POST", "/api/billing/orders", admin, json={"order_id": order_id, "items": [CERTIFICATE]}
        )
        assert placed.status_code == 201 and placed.json()["status"] == "awaiting_payment", placed.text

    # Online: the same checkout again, not a second one.
    online = await post(client, admin, "/api/billing/orders/ORD-1/pay", {"method": "online"}, "pay-ord-1")
    assert online.status_code == 200 and online.json()["payment"]["amount"] == "1180.00", online.text
    same_answer(online, await post(client, admin, "/api/billing/orders/ORD-1/pay", {"method": "online"}, "pay-ord-1"))
    assert len(await listed(client, admin, "/api/billing/payments")) == 1
    reused(await post(client, admin, "/api/billing/orders/ORD-1/pay", {"method": "credits"}, "pay-ord-1"))
    reused(await post(client, admin, "/api/billing/orders/ORD-2/pay", {"method": "online"}, "pay-ord-1"))  # other path
    await pay_on_page(client, online.json()["payment"]["redirect_url"], GOOD_CARD)
    same_answer(online, await post(client, admin, "/api/billing/orders/ORD-1/pay", {"method": "online"}, "pay-ord-1"))

    # From credits: a 402 is not kept (nothing happened); once credits arrive the same key pays, once.
    pay_2 = "/api/billing/orders/ORD-2/pay"
    short = await post(client, admin, pay_2, {"method": "credits"}, "pay-ord-2")
    assert short.status_code == 402 and short.json()["code"] == "insufficient_credits", short.text
    await apply(system, admin.account_id, 2000_00, "credits for ORD-2")
    paid = await post(client, admin, pay_2, {"method": "credits"}, "pay-ord-2")
    assert paid.status_code == 200 and paid.json()["status"] == "paid", paid.text
    same_answer(paid, await post(client, admin, pay_2, {"method": "credits"}, "pay-ord-2"))
    orders = [e for e in await listed(client, admin, "/api/billing/ledger") if e["kind"] == "order"]
    assert sorted(e["amount"] for e in orders) == ["-1180.00", "-1180.00"]  # each order charged once
    assert (await balance(client, admin))["balance"] == "820.00"


@pytest.mark.parametrize(
    "key",
    # (Other control characters never reach billing: the HTTP server refuses the request, 400.)
    ["", "k" * 256, "ключ".encode(), b"tab\there"],
    ids=["empty", "too-long", "not-ascii", "tab"],
)
async def test_a_key_that_is_not_1_to_255_printable_ascii_is_refused_naming_the_header(
    office: Any, key: str | bytes
) -> None:
    client, _ = office
    admin = await client.sign_up()
    answer = await post(client, admin, OFFLINE, TRANSFER, key)
    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == ["header.Idempotency-Key"]
    assert await listed(client, admin, "/api/billing/offline-payments") == []
    assert (await post(client, admin, OFFLINE, TRANSFER, "k" * 255)).status_code == 202


async def test_keys_are_kept_24_hours_then_forgotten(shop: Any) -> None:
    client, system = shop
    admin = await client.sign_up()
    assert (await post(client, admin, OFFLINE, TRANSFER, "old")).status_code == 202
    assert (await post(client, admin, OFFLINE, {**TRANSFER, "reference": "UTR0002"}, "new")).status_code == 202
    sessions = system.apps["billing"].state.runtime.session_factory
    now = datetime.now(UTC)
    async with sessions() as db, db.begin():
        await db.execute(
            idempotency_key.update()
            .where(idempotency_key.c.key == "old")
            .values(created_at=now - KEEP_KEYS_FOR - timedelta(minutes=1))
        )
        await db.execute(
            idempotency_key.update()
            .where(idempotency_key.c.key == "new")
            .values(created_at=now - KEEP_KEYS_FOR + timedelta(minutes=1))
        )
    async with sessions() as db, db.begin():
        assert await forget_expired_keys(db, now=now) == 1
    async with sessions() as db:
        assert await db.scalar(select(func.count()).select_from(idempotency_key)) == 1
    # Within the 24 hours the key still answers; the forgotten one is a new request (here: a duplicate transfer).
    assert (await post(client, admin, OFFLINE, {**TRANSFER, "reference": "UTR0002"}, "new")).status_code == 202
    assert (await post(client, admin, OFFLINE, TRANSFER, "old")).json()["code"] == "duplicate_reference"
