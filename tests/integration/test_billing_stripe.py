"""The Stripe adapter through the real Stripe SDK, against a local stand-in (and localstripe behind it)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import stripe

from tests.support.auth_client import AuthClient, User
from tests.support.harness import fetch, wait_for
from tests.support.stripe_standin import StripeStandIn

pytestmark = pytest.mark.integration

WEBHOOK_SECRET = "whsec_tollgate_tests_0123456789"
WEBHOOK = "/api/billing/webhooks/stripe"


@pytest.fixture
async def standin() -> AsyncIterator[StripeStandIn]:
    server = StripeStandIn(WEBHOOK_SECRET)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def stripe_settings(standin: StripeStandIn) -> dict[str, Any]:
    return {
        "payment_provider": "stripe",
        "stripe_secret_key": "sk_test_tollgate",
        "stripe_webhook_secret": WEBHOOK_SECRET,
        "stripe_api_base": standin.url,
        "public_url": "https://tollgate.example",
    }


@pytest.fixture
async def billing(start_system: Any, standin: StripeStandIn) -> AsyncIterator[tuple[AuthClient, Any, StripeStandIn]]:
    system = await start_system(services=("auth", "billing"), billing_settings=stripe_settings(standin))
    async with httpx.AsyncClient(base_url=system.gateway, timeout=20) as client:
        yield AuthClient(client), system, standin


async def top_up(client: AuthClient, user: User, amount: str = "500.00") -> dict[str, Any]:
    answer = await client.call("POST", "/api/billing/credits/online", user, json={"amount": amount})
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def session_of(system: Any, payment_id: str) -> str:
    rows = await fetch(
        system.database_urls["billing"], "SELECT provider_session FROM payment WHERE id = $1", payment_id
    )
    return str(rows[0]["provider_session"])


async def state(client: AuthClient, user: User, payment_id: str) -> tuple[str, str]:
    found = (await client.call("GET", f"/api/billing/payments/{payment_id}", user)).json()
    balance = (await client.call("GET", "/api/billing/balance", user)).json()["balance"]
    return found["status"], balance


async def deliver(client: AuthClient, standin: StripeStandIn, event: dict[str, Any]) -> httpx.Response:
    body, headers = standin.signed(event)
    return await client.client.post(WEBHOOK, content=body, headers=headers)


async def test_a_checkout_session_is_opened_and_its_signed_webhook_credits_once(billing: Any) -> None:
    client, system, standin = billing
    admin = await client.sign_up()
    started = await top_up(client, admin)
    assert started["provider"] == "stripe" and started["status"] == "pending"
    session_id = await session_of(system, started["payment_id"])
    assert started["redirect_url"] == f"https://checkout.stripe.test/c/pay/{session_id}"

    (create,) = [r for r in standin.requests if r.path == "/v1/checkout/sessions"]
    assert create.headers["idempotency-key"] == started["payment_id"]
    assert create.headers["stripe-version"] == stripe.api_version
    assert create.params["mode"] == "payment"
    assert create.params["line_items[0][price_data][unit_amount]"] == "50000"
    assert create.params["line_items[0][price_data][currency]"] == "inr"
    assert create.params["metadata[payment_id]"] == started["payment_id"]
    assert create.params["metadata[account_id]"] == admin.account_id
    assert (
        create.params["success_url"]
        == f"https://tollgate.example/billing/add-credits?payment_id={started['payment_id']}"
    )
    assert create.params["cancel_url"].endswith("&cancelled=1")

    event = await standin.pay(session_id)
    for _ in range(3):  # Stripe retries until it sees a 2xx: every copy after the first changes nothing
        answer = await deliver(client, standin, event)
        assert answer.status_code == 200 and answer.json()["received"] is True
    assert await state(client, admin, started["payment_id"]) == ("succeeded", "500.00")
    found = (await client.call("GET", f"/api/billing/payments/{started['payment_id']}", admin)).json()
    assert found["provider_reference"] == standin.sessions[session_id]["payment_intent"]
    assert found["provider_reference"].startswith("pi_")  # made by localstripe
    rows = await fetch(system.database_urls["billing"], "SELECT 1 FROM ledger_entry WHERE kind = 'online_payment'")
    assert len(rows) == 1


async def test_recheck_asks_stripe_when_the_webhook_was_lost(billing: Any) -> None:
    client, system, standin = billing
    admin = await client.sign_up()
    started = await top_up(client, admin, "250.00")
    session_id = await session_of(system, started["payment_id"])
    path = f"/api/billing/payments/{started['payment_id']}/recheck"

    pending = await client.call("POST", path, admin)
    assert pending.status_code == 200 and pending.json()["status"] == "pending"

    await standin.pay(session_id)  # paid at Stripe; the webhook never arrives
    answers = await asyncio.gather(*(client.call("POST", path, admin) for _ in range(5)))
    assert {a.json()["status"] for a in answers} == {"succeeded"}
    assert await state(client, admin, started["payment_id"]) == ("succeeded", "250.00")
    # The adapter read the session from the stand-in and its PaymentIntent from localstripe.
    intent = standin.sessions[session_id]["payment_intent"]
    assert any(r.path == f"/v1/payment_intents/{intent}" and r.method == "GET" for r in standin.requests)
    # The late webhook finds it settled.
    assert (await deliver(client, standin, standin.event("checkout.session.completed", session_id))).status_code == 200
    assert await state(client, admin, started["payment_id"]) == ("succeeded", "250.00")


async def test_a_delayed_payment_waits_for_its_outcome_and_can_fail(billing: Any) -> None:
    client, system, standin = billing
    admin = await client.sign_up()
    started = await top_up(client, admin)
    session_id = await session_of(system, started["payment_id"])

    # Completed but unpaid: money counts only when payment_status is paid.
    assert (await deliver(client, standin, await standin.start_delayed(session_id))).status_code == 200
    assert await state(client, admin, started["payment_id"]) == ("pending", "0.00")

    failed = await standin.fail_delayed(session_id)
    recheck = await client.call("POST", f"/api/billing/payments/{started['payment_id']}/recheck", admin)
    assert recheck.json()["status"] == "failed"  # the cancelled PaymentIntent, read from localstripe
    assert (await deliver(client, standin, failed)).status_code == 200
    assert await state(client, admin, started["payment_id"]) == ("failed", "0.00")
    events = await fetch(
        system.database_urls["billing"], "SELECT 1 FROM outbox WHERE event_type = 'billing.payment.failed'"
    )
    assert len(events) == 1


async def test_an_expired_session_expires_the_payment(billing: Any) -> None:
    client, system, standin = billing
    admin = await client.sign_up()
    started = await top_up(client, admin)
    event = standin.expire(await session_of(system, started["payment_id"]))
    assert (await deliver(client, standin, event)).status_code == 200
    assert await state(client, admin, started["payment_id"]) == ("expired", "0.00")


async def test_stale_or_forged_stripe_webhooks_are_refused(billing: Any) -> None:
    client, system, standin = billing
    admin = await client.sign_up()
    started = await top_up(client, admin)
    event = await standin.pay(await session_of(system, started["payment_id"]))
    body, headers = standin.signed(event, at=int(time.time()) - 301)  # just past the tolerance
    assert (await client.client.post(WEBHOOK, content=body, headers=headers)).status_code == 400
    body, headers = standin.signed(event)
    forged = body.replace(b'"amount_total": 50000', b'"amount_total": 99999')
    assert forged != body
    assert (await client.client.post(WEBHOOK, content=forged, headers=headers)).status_code == 400
    assert (await client.client.post("/api/billing/webhooks/sandbox", content=body, headers=headers)).status_code == 404
    assert await state(client, admin, started["payment_id"]) == ("pending", "0.00")


async def test_webhooks_signed_by_localstripe_verify(billing: Any) -> None:
    """Our verification accepts a signature made by someone else's implementation of Stripe's scheme."""
    client, _, standin = billing
    await standin.localstripe(
        "POST",
        "/_config/webhooks/tollgate",
        url=f"{standin.url}/_capture",
        secret=WEBHOOK_SECRET,
        **{"events[0]": "payment_intent.succeeded"},
    )
    await standin.localstripe(
        "POST", "/v1/payment_intents", amount="1000", currency="inr", payment_method="pm_card_visa", confirm="true"
    )

    async def captured() -> bool:
        return bool(standin.captured)

    await wait_for(captured, timeout=15)
    body, signature = standin.captured[0]
    answer = await client.client.post(WEBHOOK, content=body, headers={"Stripe-Signature": signature})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"received": True, "applied": False}  # verified; not a checkout event
    tampered = body.replace(b'"amount": 1000', b'"amount": 1001')
    assert tampered != body
    assert (
        await client.client.post(WEBHOOK, content=tampered, headers={"Stripe-Signature": signature})
    ).status_code == 400


async def test_stripe_down_is_a_503_and_records_nothing(start_system: Any, standin: StripeStandIn) -> None:
    system = await start_system(services=("auth", "billing"), billing_settings=stripe_settings(standin))
    standin.fail_with = 500
    async with httpx.AsyncClient(base_url=system.gateway, timeout=30) as http:
        client = AuthClient(http)
        admin = await client.sign_up()
        answer = await client.call("POST", "/api/billing/credits/online", admin, json={"amount": "500.00"})
        assert answer.status_code == 503, answer.text
        assert answer.json()["code"] == "payment_provider_unavailable"
        assert "sk_test" not in answer.text
    assert await fetch(system.database_urls["billing"], "SELECT 1 FROM payment") == []
