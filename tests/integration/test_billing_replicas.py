"""Two billing processes on one database and one set of queues, behind the gateway: money stays exact.

One account, 200 concurrent operations: new orders (some sent twice with the
same id), payments of orders that await payment (each twice), offline top-ups
approved by finance staff over HTTP, by the finance service's events (some
published twice, some racing a staff decision for the same request).

Answers no client should get (a 5xx) and decisions parked in the dead-letter
queue are collected and reported at the end, after checking that the requests
they belong to changed nothing and that the money is exact anyway. Two known
causes, each shown deterministically by its own test: staff decisions racing
the finance service's decisions, which billing applies in batches, deadlock on
the wallet and the victims (any order, payment or decision of the account)
answer 500 (`test_billing_decision_batches`); a decision whose attempt failed
is parked instead of retried (`test_billing_decision_retry`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest

from billing.handlers import DECISIONS_QUEUE
from tests.support.auth_client import AuthClient, User, finance_staff
from tests.support.billing import sign_up_buyer
from tests.support.harness import DatabaseFactory, fetch, free_port_pair, wait_for
from tests.support.replicas import Replica, SpanCollector, replica_environment, replicas
from tollgate_shared.bus import topology
from tollgate_shared.events import Envelope, new_event
from tollgate_shared.events.models import OfflinePaymentDecided

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

ORDER_PRICES = (Decimal("100.00"), Decimal("150.00"), Decimal("200.00"))  # + 18 % GST within the state
AWAITING_PRICE = Decimal("250.00")
# 40 top-ups and the seed credit 16,950.00; the orders cost 21,476.00: not all can be paid.
TOP_UP = Decimal("400.00")
SHORT_TOP_UP = Decimal("390.00")  # what arrived after bank charges
SEED = Decimal("1000.00")
FINANCE_DESK = "finance-desk-1"


def gross(price: Decimal) -> Decimal:
    return price * Decimal("1.18")


@dataclass
class Billing:
    client: AuthClient
    database_url: str
    amqp_url: str
    replicas: list[Replica]
    collector: SpanCollector
    staff: User = field(default_factory=lambda: User(""))


@pytest.fixture
async def two_billing_processes(
    start_system: Any,
    databases: DatabaseFactory,
    amqp_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Billing]:
    collector = SpanCollector()
    await collector.start()
    database_url = await databases.fresh("billing")
    try:
        # Ports first: the gateway gets both addresses and balances across them.
        ports = [free_port_pair()[0] for _ in range(2)]
        billing_urls = ",".join(f"http://127.0.0.1:{port}" for port in ports)
        system = await start_system(
            services=("auth",),
            gateway_upstreams={"billing_url": billing_urls},
            # How long an answer takes is the benchmark's business; here only what it says counts.
            gateway_settings={"upstream_timeout": 180, "upstream_connect_timeout": 30},
        )
        settings = {
            "TOLLGATE_BILLING_DATABASE_URL": database_url,
            "TOLLGATE_AMQP_URL": amqp_url,
            "TOLLGATE_AUTH_URL": system.urls["auth"],
            # The test broker's only user plays the finance service's login.
            "TOLLGATE_FINANCE_BROKER_USER": "guest",
        }
        # All 200 operations start at once; 60 requests in flight at most keeps each billing
        # process near its 20 database connections, so none waits out the pool's 30 s timeout
        # when a busy machine makes the transactions queued on the one wallet slow.
        # Idle connections are dropped long before the server's 5 s keep-alive ends them, so none
        # is reused just as the server closes it.
        limits = httpx.Limits(max_connections=60, keepalive_expiry=1.0)
        async with (
            replicas("billing", ports, log_dir=tmp_path, collector=collector, **settings) as running,
            httpx.AsyncClient(base_url=system.gateway, timeout=240, limits=limits) as http,
        ):
            billing = Billing(AuthClient(http), database_url, amqp_url, running, collector)
            billing.staff = await finance_staff(billing.client, system, monkeypatch)
            yield billing
            # The gateway first: its idle connections closed, each replica's SIGTERM finds no client
            # to wait for (it would give them up to the keep-alive timeout to leave).
            await system.group.stop("gateway")
    finally:
        await collector.stop()


async def publish(amqp_url: str, envelopes: list[Envelope]) -> None:
    """Publish as the finance service does (persistent, `user_id` its broker login), in the given order."""
    async with await aio_pika.connect(amqp_url) as connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange("tollgate.events")
        for envelope in envelopes:
            message = aio_pika.Message(
                envelope.to_json(),
                message_id=envelope.id,
                user_id="guest",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            )
            await exchange.publish(message, routing_key=envelope.type)


async def take_parked(amqp_url: str) -> set[str]:
    """Ids of the decision messages in billing's dead-letter queue, taken out of it."""
    taken = set()
    async with await aio_pika.connect(amqp_url) as connection:
        channel = await connection.channel()
        try:
            queue = await channel.declare_queue(topology.dead_letter_queue(DECISIONS_QUEUE), passive=True)
        except aio_pika.exceptions.ChannelClosed:
            return taken
        while (message := await queue.get(no_ack=True, fail=False)) is not None:
            taken.add(str(message.message_id))
    return taken


def decision_event(payment_id: str) -> Envelope:
    data = OfflinePaymentDecided(offline_payment_id=payment_id, decision="approve", decided_by=FINANCE_DESK)
    return new_event(data, source="finance")


async def test_two_billing_processes_keep_one_account_exact_under_200_concurrent_operations(
    two_billing_processes: Billing,
) -> None:
    billing = two_billing_processes
    client, db = billing.client, billing.database_url
    admin = await sign_up_buyer(client)

    async def wallet_opened() -> list[Any]:
        return await fetch(db, "SELECT 1 FROM wallet WHERE account_id = $1", admin.account_id)

    await wait_for(wallet_opened, timeout=30)  # auth.account.created reached one of the two

    async def order(order_id: str, price: Decimal) -> httpx.Response:
        item = {"description": "OV SSL certificate, 1 year", "sac": "998319", "quantity": 1, "unit_price": str(price)}
        return await client.call("POST", "/api/billing/orders", admin, json={"order_id": order_id, "items": [item]})

    async def submit(reference: str, amount: Decimal) -> str:
        body = {"amount": str(amount), "mode": "neft", "reference": reference, "paid_on": str(date.today())}
        answer = await client.call("POST", "/api/billing/credits/offline", admin, json=body)
        assert answer.status_code == 202, answer.text
        return str(answer.json()["id"])

    async def staff_decides(payment_id: str, amount: Decimal | None = None) -> httpx.Response:
        body: dict[str, Any] = {"decision": "approve"}
        if amount is not None:
            body |= {"amount": str(amount), "reason": "bank charges"}
        path = f"/api/finance/offline-payments/{payment_id}/decision"
        return await client.call("POST", path, billing.staff, json=body)

    # --- before: 25 orders awaiting payment (no credits yet), 1,000.00 of credits, 40 top-ups pending
    awaiting = [f"awaiting-{k}" for k in range(25)]
    for order_id in awaiting:
        placed = await order(order_id, AWAITING_PRICE)
        assert placed.status_code == 201 and placed.json()["status"] == "awaiting_payment", placed.text
    seed = await submit("UTR-SEED", SEED)
    assert (await staff_decides(seed)).status_code == 200
    top_ups = [await submit(f"UTR-{k:03d}", TOP_UP) for k in range(40)]
    by_staff, short_by_staff = top_ups[:15], top_ups[15:20]
    redelivered, sent_twice, contested = top_ups[20:25], top_ups[25:30], top_ups[30:40]

    # --- the 200 operations, all at once
    new_orders = {f"order-{i}": ORDER_PRICES[i % 3] for i in range(80)}
    resent = list(new_orders)[:10]  # the same order id and body again, at the same time
    same_id = [decision_event(p) for p in redelivered]  # one event, delivered twice
    new_ids = [decision_event(p) for p in sent_twice for _ in range(2)]  # the decision sent again as a new event
    racing = [decision_event(p) for p in contested]  # against a staff decision of the same request
    events = [*same_id, *same_id, *new_ids, *racing]
    random.shuffle(events)

    calls: list[tuple[str, str, Any]] = [
        *(("order", order_id, order(order_id, price)) for order_id, price in new_orders.items()),
        *(("order", order_id, order(order_id, new_orders[order_id])) for order_id in resent),
        *(
            (
                "pay",
                order_id,
                client.call("POST", f"/api/billing/orders/{order_id}/pay", admin, json={"method": "credits"}),
            )
            for order_id in awaiting
            for _ in range(2)
        ),
        *(("decision", p, staff_decides(p)) for p in by_staff),
        *(("decision", p, staff_decides(p, SHORT_TOP_UP)) for p in short_by_staff),
        *(("decision", p, staff_decides(p)) for p in contested),
    ]
    random.shuffle(calls)
    assert len(calls) + len(events) == 200  # 170 requests through the gateway, 30 decision messages
    answers = await asyncio.gather(*(call for _, _, call in calls), publish(billing.amqp_url, events))
    results = list(zip(calls, answers[:-1], strict=True))

    # --- what the answers say. Any other answer is a failure, reported at the end, after checking
    # that the request it answered changed nothing and that the money is right anyway.
    failed: list[str] = []
    placed, paid, approved_by_staff = set(awaiting), set(), set()
    order_answers: dict[str, list[dict[str, Any]]] = {}
    for (kind, key, _), answer in results:
        wanted = {"order": {201}, "pay": {200, 402}, "decision": {200, 409}}[kind]
        if answer.status_code not in wanted:
            failed.append(f"{kind} {key}: {answer.status_code} {answer.text[:200]}")
            continue
        body = answer.json()
        if kind == "order":
            placed.add(key)
            order_answers.setdefault(key, []).append(body)
            if body["status"] == "paid":
                paid.add(key)
        elif kind == "pay" and answer.status_code == 200:
            assert body["status"] == "paid"
            paid.add(key)
        elif kind == "decision" and answer.status_code == 409:
            assert key in contested and body["code"] == "already_decided"  # the finance service was first
        elif kind == "decision":
            approved_by_staff.add(key)
    for answered in order_answers.values():  # a resent order answers as the first, whichever process answered
        assert len({(a["status"], a["total"]) for a in answered}) == 1, answered

    # --- after: wait (bounded) until every decision message was handled (in the inbox) or parked
    # (in the dead-letter queue: a failure, reported at the end), and the outbox relays are done
    published = {e.id: e.data["offline_payment_id"] for e in events}
    parked: set[str] = set()
    handled: set[str] = set()

    async def decisions_settled() -> bool:
        parked.update(await take_parked(billing.amqp_url))
        rows = await fetch(db, "SELECT event_id FROM inbox WHERE consumer = $1", DECISIONS_QUEUE)
        handled.update(r["event_id"] for r in rows)
        return handled | parked >= set(published)

    await wait_for(decisions_settled, timeout=90)
    failed += [f"decision {e} for {published[e]} parked in the dead-letter queue" for e in parked - handled]
    assert handled <= set(published)  # each message recorded once (the inbox key), nothing else

    async def outbox_sent() -> bool:
        rows = await fetch(db, "SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL")
        return rows[0]["n"] == 0

    await wait_for(outbox_sent, timeout=60)

    # --- the balance is exactly what the answers say, and the ledger agrees
    decided = {published[e] for e in handled} | approved_by_staff
    approved = {p: SHORT_TOP_UP if p in short_by_staff else TOP_UP for p in top_ups if p in decided} | {seed: SEED}
    undecided = await fetch(db, "SELECT id FROM offline_payment WHERE status = 'pending_approval'")
    assert {r["id"] for r in undecided} == set(top_ups) - decided  # a failed decision changed nothing
    prices = {**new_orders, **{order_id: AWAITING_PRICE for order_id in awaiting}}
    totals = {order_id: gross(prices[order_id]) for order_id in placed}
    expected = sum(approved.values(), Decimal(0)) - sum((totals[o] for o in paid), Decimal(0))
    assert 0 < len(paid) < len(totals)  # credits ran out: some orders paid, some still awaiting
    balance = (await client.call("GET", "/api/billing/balance", admin)).json()
    assert Decimal(balance["balance"]) == expected

    orders = await fetch(
        db, 'SELECT order_id, status, total_minor FROM "order" WHERE account_id = $1', admin.account_id
    )
    assert {r["order_id"] for r in orders} == placed  # each order once, resends included; failed ones not at all
    assert {r["order_id"] for r in orders if r["status"] == "paid"} == paid
    assert all(Decimal(r["total_minor"]) / 100 == totals[r["order_id"]] for r in orders)

    ledger = await fetch(
        db,
        "SELECT kind, reference, amount_minor, balance_after_minor FROM ledger_entry "
        "WHERE account_id = $1 ORDER BY created_at, id",
        admin.account_id,
    )
    assert all(entry["balance_after_minor"] >= 0 for entry in ledger)
    running = 0
    for entry in ledger:  # each change applied on top of the one before it: no lost update
        running += entry["amount_minor"]
        assert entry["balance_after_minor"] == running, entry
    assert Decimal(running) / 100 == expected
    credited = {e["reference"]: Decimal(e["amount_minor"]) / 100 for e in ledger if e["kind"] == "offline_payment"}
    assert credited == approved  # every approval credited once, for the amount approved
    charged = sorted(e["reference"] for e in ledger if e["kind"] == "order")
    assert charged == sorted(paid)

    reconcile = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "tollgate.cli", "billing", "reconcile"],
        env=replica_environment(TOLLGATE_BILLING_DATABASE_URL=db),  # configured as the replicas are
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert reconcile.returncode == 0, reconcile.stdout + reconcile.stderr

    # --- each event recorded once: one per order, payment and approval
    outbox = await fetch(db, "SELECT event_type, payload FROM outbox")
    per_type: dict[str, list[dict[str, Any]]] = {}
    for row in outbox:
        per_type.setdefault(row["event_type"], []).append(json.loads(row["payload"])["data"])
    assert sorted(d["order_id"] for d in per_type["billing.order.placed"]) == sorted(totals)
    assert sorted(d["order_id"] for d in per_type.get("billing.order.paid", [])) == sorted(paid)
    assert sorted(d["offline_payment_id"] for d in per_type["billing.offline_payment.approved"]) == sorted(approved)
    assert len(per_type["billing.credits.added"]) == len(approved)
    decided_by = {d["offline_payment_id"]: d["approved_by"] for d in per_type["billing.offline_payment.approved"]}
    assert all(decided_by[p] == FINANCE_DESK for p in {*redelivered, *sent_twice} & decided)
    staff_deciders = {decided_by[p] for p in approved_by_staff - set(contested)}
    assert len(staff_deciders) <= 1 and FINANCE_DESK not in staff_deciders  # the staff user's id

    # --- both processes served: their own spans say which requests each one answered
    def served(route: str) -> dict[str, int]:
        return billing.collector.served(f"POST /api/billing/orders{route}")

    async def both_reported() -> bool:
        return all(len([n for n in served(route).values() if n]) == 2 for route in ("", "/{order_id}/pay"))

    with contextlib.suppress(AssertionError):  # the assertions below say what arrived
        await wait_for(both_reported, timeout=30)
    placed_by, paid_by = served(""), served("/{order_id}/pay")
    assert set(placed_by) == {"billing-1", "billing-2"} and min(placed_by.values()) > 0, placed_by
    assert set(paid_by) == {"billing-1", "billing-2"} and min(paid_by.values()) > 0, paid_by

    assert not failed, "answers no client should get:\n" + "\n".join(failed)
