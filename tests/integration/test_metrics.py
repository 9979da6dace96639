"""Metrics: a short load through the gateway moves every service's metrics, on a port of their own."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import aio_pika
import httpx
import pytest

from tests.support.auth_client import AuthClient
from tests.support.billing import give_profile
from tests.support.harness import signed_headers, wait_for
from tests.support.observability import METRICS
from tests.support.scrapes import Scrape, scrape
from tollgate_shared.bus import topology
from tollgate_shared.metrics import runtime as runtime_metrics
from tollgate_shared.metrics.listener import metrics_listener

pytestmark = pytest.mark.integration

OFFICE = "203.0.113.10"
HOME = "198.51.100.20"
CERTIFICATE = {"description": "OV SSL certificate, 1 year", "sac": "998319", "quantity": 1, "unit_price": "500.00"}
PROFILE = {"legal_name": "Acme Private Limited", "address": "1 MG Road", "state": "Karnataka", "gstin": None}


async def _load(http: httpx.AsyncClient) -> dict[str, str]:
    """Sign up, log in (and fail once), top up online, order, submit a transfer, get refused by an IP rule."""
    office = AuthClient(http, client_ip=OFFICE)
    admin = await office.sign_up()  # a login too
    await give_profile(office, admin)  # what an order needs
    wrong = await office.call("POST", "/api/auth/login", json={"email": admin.email, "password": "not it at all"})
    assert wrong.status_code == 401, wrong.text
    started = await office.call("POST", "/api/billing/credits/online", admin, json={"amount": "1000.00"})
    assert started.status_code == 201, started.text
    paid = await http.post(started.json()["redirect_url"], data={"card_number": "4242424242424242"})
    assert paid.status_code == 303, paid.text
    assert (await office.call("PUT", "/api/billing/profile", admin, json=PROFILE)).status_code == 200
    placed = await office.call("POST", "/api/billing/orders", admin, json={"items": [CERTIFICATE]})
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order_id"]
    assert (await office.call("GET", f"/api/billing/orders/{order_id}", admin)).status_code == 200
    transfer = {"amount": "5000.00", "mode": "neft", "reference": "UTR7700001", "paid_on": str(date.today())}
    submitted = await office.call("POST", "/api/billing/credits/offline", admin, json=transfer)
    assert submitted.status_code == 202, submitted.text
    member = await office.add_user(admin)
    await office.log_in(member)
    rule = {"user_id": member.id, "start_ip": OFFICE, "end_ip": OFFICE}
    assert (await office.call("POST", "/api/account/ip-restrictions", admin, json=rule)).status_code == 201
    home = AuthClient(http, client_ip=HOME)

    async def refused_at_the_edge() -> bool:
        answer = await home.call("GET", "/api/billing/balance", member)
        return answer.status_code == 403 and answer.json()["code"] == "ip_not_allowed"

    await wait_for(refused_at_the_edge)  # once the gateway has the new rule
    return {
        "account": admin.account_id,
        "admin": admin.id,
        "member": member.id,
        "email": admin.email,
        "order": order_id,
        "payment": started.json()["payment_id"],
        "offline": submitted.json()["id"],
    }


async def _poison(amqp_url: str) -> None:
    """A message that is not the contract, into invoicing's queue: it is dead-lettered at once."""
    async with await aio_pika.connect(amqp_url) as connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(topology.EXCHANGE)
        message = aio_pika.Message(b"not json", message_id=str(uuid.uuid4()))
        await exchange.publish(message, routing_key="billing.order.placed")


def _moved(before: Scrape, after: Scrape, name: str, **labels: str) -> float:
    return after.value(name, **labels) - before.value(name, **labels)


async def test_a_short_load_through_the_gateway_moves_every_services_metrics(
    start_system: Any, amqp_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Read the database and the broker at every scrape here (in service: every 2 s and 10 s).
    monkeypatch.setattr(runtime_metrics, "BROKER_EVERY", 0.0)
    monkeypatch.setattr(runtime_metrics, "DATABASE_EVERY", 0.0)
    system = await start_system(gateway_settings={"trusted_proxies": "127.0.0.1/32"})
    async with metrics_listener("127.0.0.1", 0) as url, httpx.AsyncClient(base_url=system.gateway, timeout=30) as http:
        before = await scrape(url)
        ids = await _load(http)
        await _poison(amqp_url)

        async def settled() -> Scrape | None:
            now = await scrape(url)
            done = (
                _moved(before, now, "tollgate_invoices_issued_total", service="invoicing", kind="invoice") >= 1
                and _moved(before, now, "tollgate_invoices_issued_total", service="invoicing", kind="receipt") >= 1
                and now.value("tollgate_dead_letter_messages", service="invoicing", queue="invoicing.billing-events")
                >= 1
                and now.value("tollgate_outbox_pending_events", service="billing") == 0
            )
            return now if done else None

        after = await wait_for(settled, timeout=30)

        # Requests, by route template and status class, per service (the gateway's by public prefix).
        name = "http_server_request_duration_seconds_count"
        assert _moved(before, after, name, service="billing", route="/api/billing/orders/{order_id}", method="GET") == 1
        assert _moved(before, after, name, service="billing", route="/api/billing/orders", status_class="2xx") == 1
        assert _moved(before, after, name, service="auth", route="/api/auth/login", status_class="4xx") >= 1
        assert _moved(before, after, name, service="gateway", route="/api/billing/*", status_class="4xx") >= 1
        assert _moved(before, after, name, service="gateway", route="/sandbox/checkout/*", method="POST") == 1
        # The product.
        assert _moved(before, after, "tollgate_logins_total", service="auth", outcome="succeeded") == 2
        assert _moved(before, after, "tollgate_logins_total", service="auth", outcome="invalid_credentials") == 1
        payments = "tollgate_payments_total"
        assert _moved(before, after, payments, service="billing", provider="sandbox", status="pending") == 1
        assert _moved(before, after, payments, service="billing", provider="sandbox", status="succeeded") == 1
        assert _moved(before, after, payments, service="billing", provider="offline", status="submitted") == 1
        assert after.value("tollgate_offline_payments_pending", service="billing") >= 1
        assert 0 <= after.value("tollgate_offline_payments_oldest_pending_seconds", service="billing") < 60
        assert _moved(before, after, "tollgate_gateway_ip_denials_total", service="gateway") >= 1
        assert 0 <= after.value("tollgate_gateway_rules_age_seconds", service="gateway") < 60
        # Events: published from each outbox, handled by each consumer, the poison one dead-lettered.
        published = "tollgate_events_published_total"
        assert _moved(before, after, published, service="auth", event_type="auth.account.created") == 1
        assert _moved(before, after, published, service="billing", event_type="billing.order.placed") == 1
        assert _moved(before, after, published, service="invoicing", event_type="invoicing.invoice.issued") >= 2
        handled = "tollgate_events_handled_total"
        assert _moved(before, after, handled, service="billing", queue="billing.auth-events", outcome="ok") >= 1
        assert _moved(before, after, handled, service="invoicing", queue="invoicing.billing-events", outcome="ok") >= 3
        assert _moved(before, after, handled, queue="invoicing.billing-events", outcome="dead_lettered") == 1
        assert _moved(before, after, handled, service="gateway", queue="gateway.auth-broadcast", outcome="ok") >= 1
        for service in ("auth", "billing", "invoicing"):
            assert after.has("tollgate_outbox_oldest_pending_seconds", service=service)
            assert after.value("tollgate_consumers_paused", service=service, dependency="database") == 0
        for service in ("auth", "billing", "invoicing", "gateway"):
            assert after.value("tollgate_broker_connected", service=service) == 1
            assert after.has("tollgate_unrouted_messages", service=service)

        # What the alert rules and the dashboard read (tests/support/observability.py) is what the services serve.
        for metric, described in METRICS.items():
            if metric == "up":  # Prometheus's own
                continue
            series = f"{metric}_count" if described.kind == "histogram" else metric
            assert after.has(series), f"{metric}: the rules and the dashboard read it, no service serves it"
            served = after.label_names(series) - {"le"}
            assert served == set(described.labels), f"{metric}: served with {served}, read with {described.labels}"

        # Nobody is named in a label: no id, token or email, and none of this load's own.
        assert after.suspicious_label_values({"auth", "billing", "invoicing", "gateway"}) == set()
        assert not [value for value in ids.values() if value in after.text]

        # Never through the gateway, and not on a service's API port.
        assert (await http.get("/metrics")).status_code == 404
        for service in ("auth", "billing", "invoicing"):
            async with httpx.AsyncClient(base_url=system.urls[service], timeout=10) as direct:
                # Signed as if from the gateway: not refused at the edge, simply not there.
                assert (await direct.get("/metrics", headers=signed_headers("GET", "/metrics"))).status_code == 404
