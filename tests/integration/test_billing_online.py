"""Online top-ups with the sandbox provider, through the gateway: checkout page, signed webhook, recheck, once."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import stripe

from billing.app import sandbox_webhook_secret
from tests.support.auth_client import AuthClient, User
from tests.support.billing import DECLINED_CARD, GOOD_CARD, pay_on_page, sign_up_buyer, top_up
from tests.support.harness import fetch

pytestmark = pytest.mark.integration


@pytest.fixture
async def billing(start_system: Any) -> AsyncIterator[tuple[AuthClient, Any]]:
    system = await start_system(services=("auth", "billing"))
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as client:
        yield AuthClient(client), system


async def payment(client: AuthClient, user: User, payment_id: str) -> dict[str, Any]:
    answer = await client.call("GET", f"/api/billing/payments/{payment_id}", user)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def balance(client: AuthClient, user: User) -> str:
    answer = await client.call("GET", "/api/billing/balance", user)
    return str(answer.json()["balance"])


async def rows(system: Any, sql: str, *args: Any) -> list[Any]:
    return await fetch(system.database_urls["billing"], sql, *args)


async def test_a_card_payment_on_the_sandbox_page_credits_the_wallet_once(billing: Any) -> None:
    client, system = billing
    admin = await client.sign_up()
    started = await top_up(client, admin, "500.00")
    assert started["status"] == "pending" and started["provider"] == "sandbox"
    assert started["redirect_url"].startswith("/sandbox/checkout/")  # relative: any host and port

    page = await client.client.get(started["redirect_url"])
    assert "INR 500.00" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]

    paid = await pay_on_page(client, started["redirect_url"], GOOD_CARD)
    assert paid.status_code == 303
    assert paid.headers["location"] == f"/billing/add-credits?payment_id={started['payment_id']}"

    settled = await payment(client, admin, started["payment_id"])
    assert settled["status"] == "succeeded" and settled["provider_reference"].startswith("ch_sandbox_")
    assert await balance(client, admin) == "500.00"

    # Paying again, rechecking, replaying: nothing more.
    again = await client.client.post(started["redirect_url"], data={"card_number": GOOD_CARD})
    assert again.status_code == 409
    recheck = await client.call("POST", f"/api/billing/payments/{started['payment_id']}/recheck", admin)
    assert recheck.status_code == 200 and recheck.json()["status"] == "succeeded"
    assert await balance(client, admin) == "500.00"
    entries = await rows(system, "SELECT amount_minor FROM ledger_entry WHERE kind = 'online_payment'")
    assert [e["amount_minor"] for e in entries] == [50000]
    events = await rows(system, "SELECT event_type, payload FROM outbox WHERE event_type LIKE 'billing.payment.%'")
    assert [e["event_type"] for e in events] == ["billing.payment.succeeded"]
    data = json.loads(events[0]["payload"])["data"]
    assert data["amount"] == "500.00" and data["provider"] == "sandbox" and data["buyer"]["legal_name"] == "Acme"

    listed = await client.call("GET", "/api/billing/payments", admin)
    assert [p["payment_id"] for p in listed.json()["items"]] == [started["payment_id"]]


async def test_a_declined_card_fails_the_payment_and_an_unknown_card_changes_nothing(billing: Any) -> None:
    client, system = billing
    admin = await client.sign_up()
    started = await top_up(client, admin)

    unknown = await pay_on_page(client, started["redirect_url"], "4111111111111111")
    assert unknown.status_code == 422 and 'role="alert"' in unknown.text
    assert (await payment(client, admin, started["payment_id"]))["status"] == "pending"

    declined = await pay_on_page(client, started["redirect_url"], DECLINED_CARD)
    assert declined.status_code == 303
    failed = await payment(client, admin, started["payment_id"])
    assert failed["status"] == "failed" and failed["failure_reason"]
    assert await balance(client, admin) == "0.00"
    events = await rows(system, "SELECT event_type FROM outbox WHERE event_type LIKE 'billing.payment.%'")
    assert [e["event_type"] for e in events] == ["billing.payment.failed"]


@pytest.mark.parametrize(
    ("amount", "field"),
    [("99.99", "amount"), ("1000000.01", "amount"), ("1.234", "amount"), (100.5, "amount"), ("-5", "amount")],
)
async def test_bad_amounts_are_refused_before_the_provider_is_asked(billing: Any, amount: Any, field: str) -> None:
    client, system = billing
    admin = await client.sign_up()
    answer = await client.call("POST", "/api/billing/credits/online", admin, json={"amount": amount})
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert any(e["field"] == field for e in answer.json()["errors"]), answer.json()
    assert await rows(system, "SELECT 1 FROM payment") == []
    assert await rows(system, "SELECT 1 FROM sandbox_checkout") == []


async def test_webhooks_that_are_unsigned_stale_or_forged_are_refused(billing: Any) -> None:
    client, system = billing
    admin = await client.sign_up()
    started = await top_up(client, admin)
    session_id = (await rows(system, "SELECT provider_session FROM payment"))[0]["provider_session"]
    secret = sandbox_webhook_secret(system.apps["billing"].state.runtime.settings)
    event = {
        "id": "evt_1",
        "type": "checkout.session.completed",
        "data": {"object": {"id": session_id, "payment_status": "paid", "amount_total": 50000, "currency": "inr"}},
    }
    body = json.dumps(event)
    url = "/api/billing/webhooks/sandbox"
    stale = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=int(time.time()) - 3600)
    forged = stripe.WebhookSignature.generate_signature_header(body, "not-the-secret")
    tampered = stripe.WebhookSignature.generate_signature_header(body.replace("50000", "5000000"), secret)
    for signature in (None, stale, forged, tampered, "t=1,v1=zz"):
        headers = {"stripe-signature": signature} if signature else {}
        answer = await client.client.post(url, content=body, headers=headers)
        assert answer.status_code == 400, (signature, answer.text)
        assert answer.json()["code"] == "bad_webhook"
    assert (await client.client.post("/api/billing/webhooks/stripe", content=body)).status_code == 404
    assert (await payment(client, admin, started["payment_id"]))["status"] == "pending"

    # Correctly signed, twice (providers retry): one credit.
    for _ in range(2):
        signature = stripe.WebhookSignature.generate_signature_header(body, secret)
        answer = await client.client.post(url, content=body, headers={"stripe-signature": signature})
        assert answer.status_code == 200 and answer.json()["received"] is True
    assert await balance(client, admin) == "500.00"
    # Signed but malformed: a 400, never a 500.
    junk = json.dumps({"type": "checkout.session.completed", "data": {"object": "x"}})
    signature = stripe.WebhookSignature.generate_signature_header(junk, secret)
    assert (await client.client.post(url, content=junk, headers={"stripe-signature": signature})).status_code == 400


async def test_concurrent_rechecks_after_a_lost_webhook_credit_exactly_once(billing: Any) -> None:
    client, system = billing
    admin = await client.sign_up()
    started = await top_up(client, admin, "750.00")
    # The payer paid but the notification never arrived: the provider's side says paid.
    factory = system.apps["billing"].state.runtime.session_factory
    async with factory() as db, db.begin():
        from sqlalchemy import text

        await db.execute(text("UPDATE sandbox_checkout SET status = 'complete', payment_status = 'paid'"))

    path = f"/api/billing/payments/{started['payment_id']}/recheck"
    answers = await asyncio.gather(*(client.call("POST", path, admin) for _ in range(10)))
    assert all(a.status_code == 200 and a.json()["status"] == "succeeded" for a in answers)
    assert await balance(client, admin) == "750.00"
    assert len(await rows(system, "SELECT 1 FROM ledger_entry WHERE kind = 'online_payment'")) == 1
    assert len(await rows(system, "SELECT 1 FROM outbox WHERE event_type = 'billing.credits.added'")) == 1


async def test_another_accounts_payment_is_a_404(billing: Any) -> None:
    client, _ = billing
    alice, bob = await client.sign_up(), await client.sign_up()
    started = await top_up(client, alice)
    for method, path in (("GET", ""), ("POST", "/recheck")):
        answer = await client.call(method, f"/api/billing/payments/{started['payment_id']}{path}", bob)
        assert answer.status_code == 404, answer.text
    assert (await client.call("GET", "/api/billing/payments/not-a-uuid", alice)).status_code == 404


async def test_an_order_paid_online_is_credited_then_paid_from_credits(billing: Any) -> None:
    client, system = billing
    admin = await sign_up_buyer(client)
    item = {"description": "DV SSL, 1 year", "sac": "998319", "quantity": 1, "unit_price": "1000.00"}
    placed = await client.call("POST", "/api/billing/orders", admin, json={"order_id": "ORD-1", "items": [item]})
    assert placed.status_code == 201 and placed.json()["status"] == "awaiting_payment"
    total = placed.json()["total"]  # 1180.00 with 18 % GST

    # Two checkouts for the same order, both paid: the order is paid once, the rest stays as credits.
    first = await client.call("POST", "/api/billing/orders/ORD-1/pay", admin, json={"method": "online"})
    second = await client.call("POST", "/api/billing/orders/ORD-1/pay", admin, json={"method": "online"})
    assert first.status_code == 200 and first.json()["payment"]["amount"] == total
    assert first.json()["payment"]["redirect_url"].startswith("/sandbox/checkout/")
    landed = await pay_on_page(client, first.json()["payment"]["redirect_url"], GOOD_CARD)
    assert landed.headers["location"].startswith("/certificates/orders/ORD-1?payment_id=")
    order = (await client.call("GET", "/api/billing/orders/ORD-1", admin)).json()
    assert order["status"] == "paid"
    assert await balance(client, admin) == "0.00"

    await pay_on_page(client, second.json()["payment"]["redirect_url"], GOOD_CARD)
    assert await balance(client, admin) == total
    paid_events = await rows(system, "SELECT payload FROM outbox WHERE event_type = 'billing.order.paid'")
    assert len(paid_events) == 1
    assert json.loads(paid_events[0]["payload"])["data"]["method"] == "online"
    # A paid order needs no checkout.
    again = await client.call("POST", "/api/billing/orders/ORD-1/pay", admin, json={"method": "online"})
    assert again.status_code == 200 and again.json()["payment"] is None
