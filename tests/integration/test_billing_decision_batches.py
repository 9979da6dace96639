"""A staff decision and a batch of the finance service's decisions for the same account, at the same time.

The inbox applies the deliveries that queue up while a transaction runs in one
transaction (`tollgate_shared.inbox`). Each decision locks its offline payment,
then the wallet (`billing.offline_payments.decide` → `billing.ledger.apply_to_wallet`).
A batch of two decisions therefore holds the wallet while it locks the second
payment, the reverse order of a single decision: a staff decision of that
second payment that started in between waits for the wallet while holding the
payment, and PostgreSQL breaks the cycle by aborting one of the two.

The pause between the two events of the batch stands for anything that makes
a batch take time (a slow statement, a busy event loop); the two-process test
(`test_billing_replicas`) runs into the same deadlock by chance under load.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import pytest

from billing.adapters.tables import messaging
from billing.handlers import DECISIONS_QUEUE, apply_finance_decision
from tests.support.auth_client import finance_staff
from tests.support.harness import fetch, wait_for
from tollgate_shared.bus import Delivery
from tollgate_shared.events import Envelope, new_event
from tollgate_shared.events.models import OfflinePaymentDecided
from tollgate_shared.inbox import inbox_handler

pytestmark = pytest.mark.integration


def delivery(payment_id: str) -> Delivery:
    decided = OfflinePaymentDecided(offline_payment_id=payment_id, decision="approve", decided_by="finance-desk-1")
    event = new_event(decided, source="finance")
    return Delivery(event.id, event.type, event.to_json(), {}, user_id="guest")


async def deadlocks(database_url: str) -> int:
    rows = await fetch(database_url, "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
    return int(rows[0]["deadlocks"])


async def test_a_staff_decision_does_not_fail_while_a_batch_of_finance_decisions_holds_the_wallet(
    office: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, system = office
    database_url = system.database_urls["billing"]
    admin = await client.sign_up()
    staff = await finance_staff(client, system, monkeypatch)

    async def submit(reference: str) -> str:
        transfer = {"amount": "500.00", "mode": "neft", "paid_on": str(date.today()), "reference": reference}
        answer = await client.call("POST", "/api/billing/credits/offline", admin, json=transfer)
        assert answer.status_code == 202, answer.text
        return str(answer.json()["id"])

    first, second = await submit("UTR-A"), await submit("UTR-B")
    deadlocks_before = await deadlocks(database_url)

    # The finance service decided both; billing applies the two deliveries in one transaction.
    runtime = system.apps["billing"].state.runtime
    holds_wallet, go_on = asyncio.Event(), asyncio.Event()

    async def decide_then_pause_after_the_first(session: Any, event: Envelope) -> None:
        await apply_finance_decision(session, event, settings=runtime.settings)
        if event.data["offline_payment_id"] == first and not go_on.is_set():
            holds_wallet.set()  # the first is credited: this transaction holds the wallet
            await go_on.wait()

    handle = inbox_handler(
        DECISIONS_QUEUE,
        {"finance.offline_payment.decided": decide_then_pause_after_the_first},
        runtime.session_factory,
        messaging,
    )

    async def staff_waits_for_the_wallet() -> bool:
        rows = await fetch(
            database_url,
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query LIKE '%wallet%'",
        )
        return rows[0]["n"] >= 1

    batch = asyncio.gather(handle(delivery(first)), handle(delivery(second)), return_exceptions=True)
    try:
        await asyncio.wait_for(holds_wallet.wait(), timeout=20)
        # Meanwhile a finance staff member approves the second one.
        decision = f"/api/finance/offline-payments/{second}/decision"
        staff_answer = asyncio.create_task(client.call("POST", decision, staff, json={"decision": "approve"}))
        await wait_for(staff_waits_for_the_wallet, timeout=20)
    finally:
        go_on.set()  # never leave the batch's transaction (and the wallet) held
    answer = await asyncio.wait_for(staff_answer, timeout=60)
    assert await asyncio.wait_for(batch, timeout=60) == [None, None]

    # Whoever decides first, the other is told it was decided: nobody gets an error.
    assert answer.status_code in (200, 409), answer.text
    balance = (await client.call("GET", "/api/billing/balance", admin)).json()["balance"]
    assert balance == "1000.00"  # each approval credited once

    # A deadlock broken in the batch's favour (its events then retried one by one) shows only
    # here; PostgreSQL publishes its statistics within about a second.
    for _ in range(30):
        if await deadlocks(database_url) > deadlocks_before:
            break
        await asyncio.sleep(0.1)
    assert await deadlocks(database_url) == deadlocks_before
