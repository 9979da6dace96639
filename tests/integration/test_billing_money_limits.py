"""Amounts beyond the money range: refused with a clear problem, never a 500, and nothing changes.

The largest amount billing takes or keeps is `tollgate_shared.money.MAX_AMOUNT`
(1,000,000,000,000.00): an order's total, a balance, a top-up. An order above it
is a 422; a credit that would take a balance above it is a 409 `balance_limit`,
whichever way it arrives (online checkout, offline submission, staff approval);
a finance service's approval that would is recorded as a rejection saying why.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.auth_client import finance_staff
from tests.support.billing import (
    GOOD_CARD,
    apply,
    balance,
    pay_on_page,
    publish_decision,
    sign_up_buyer,
    submit,
    top_up,
)
from tests.support.harness import fetch, wait_for
from tollgate_shared.events.models import OfflinePaymentDecided
from tollgate_shared.money import MAX_AMOUNT, to_minor

pytestmark = pytest.mark.integration

MAX_MINOR = to_minor(MAX_AMOUNT)
LINE = {"description": "EV SSL, 1 year", "sac": "998319", "quantity": 1}


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
    admin = await sign_up_buyer(client)
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
    admin = await sign_up_buyer(client)
    # 847,457,627,118.64 + 9 % CGST + 9 % SGST (76,271,186,440.68 each) = 1,000,000,000,000.00.
    items = [{**LINE, "unit_price": "847457627118.64"}]
    answer = await client.call("POST", "/api/billing/orders", admin, json={"order_id": "largest", "items": items})
    assert answer.status_code == 201, answer.text
    assert answer.json()["total"] == "1000000000000.00" and answer.json()["status"] == "awaiting_payment"


async def test_an_online_top_up_past_the_maximum_balance_is_a_409_before_the_provider_is_asked(office: Any) -> None:
    client, system = office
    admin = await client.sign_up()
    await apply(system, admin.account_id, MAX_MINOR - 100_00, "large adjustment")
    # Up to the maximum exactly: taken and credited.
    started = await top_up(client, admin, "100.00")
    await pay_on_page(client, started["redirect_url"], GOOD_CARD)
    assert (await balance(client, admin))["balance"] == "1000000000000.00"

    answer = await client.call("POST", "/api/billing/credits/online", admin, json={"amount": "100.00"})
    assert answer.status_code == 409, answer.text
    assert answer.json()["code"] == "balance_limit" and "1000000000000.00" in answer.json()["detail"]
    assert len(await rows(system, "SELECT 1 FROM payment")) == 1
    assert len(await rows(system, "SELECT 1 FROM sandbox_checkout")) == 1


async def test_a_paid_top_up_the_balance_cannot_take_stays_pending_until_it_can(office: Any) -> None:
    """Two checkouts opened while there was room for each, both paid: the second waits, uncredited, and a
    recheck credits it once the balance has room (a real provider also retries its webhook)."""
    client, system = office
    admin = await client.sign_up()
    await apply(system, admin.account_id, MAX_MINOR - 200_00, "large adjustment")
    first, second = await top_up(client, admin, "100.00"), await top_up(client, admin, "150.00")
    await pay_on_page(client, first["redirect_url"], GOOD_CARD)
    assert (await balance(client, admin))["balance"] == "999999999900.00"

    landed = await pay_on_page(client, second["redirect_url"], GOOD_CARD)
    assert landed.status_code == 303  # the payer goes back to the UI, which shows the payment pending
    path = f"/api/billing/payments/{second['payment_id']}"
    assert (await client.call("GET", path, admin)).json()["status"] == "pending"
    assert (await balance(client, admin))["balance"] == "999999999900.00"
    recheck = await client.call("POST", f"{path}/recheck", admin)
    assert recheck.status_code == 409 and recheck.json()["code"] == "balance_limit", recheck.text
    assert (await client.call("GET", path, admin)).json()["status"] == "pending"
    assert len(await rows(system, "SELECT 1 FROM ledger_entry WHERE kind = 'online_payment'")) == 1

    await apply(system, admin.account_id, -1000_00, "spent", kind="order")
    recheck = await client.call("POST", f"{path}/recheck", admin)
    assert recheck.status_code == 200 and recheck.json()["status"] == "succeeded", recheck.text
    assert (await balance(client, admin))["balance"] == "999999999050.00"
    assert await events_of(system, "billing.payment.") == ["billing.payment.succeeded"] * 2


async def test_an_offline_submission_past_the_maximum_balance_is_a_409(office: Any) -> None:
    client, system = office
    admin = await client.sign_up()
    await apply(system, admin.account_id, MAX_MINOR - 4000_00, "large adjustment")
    answer = await submit(client, admin)  # 5,000.00
    assert answer.status_code == 409 and answer.json()["code"] == "balance_limit", answer.text
    assert await rows(system, "SELECT 1 FROM offline_payment") == []
    assert await events_of(system, "billing.offline_payment.") == []


async def test_a_staff_approval_past_the_maximum_balance_is_a_409_and_changes_nothing(
    office: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, system = office
    admin = await client.sign_up()
    staff = await finance_staff(client, system, monkeypatch)
    await apply(system, admin.account_id, MAX_MINOR - 10_000_00, "large adjustment")
    payment_id = (await submit(client, admin)).json()["id"]  # 5,000.00: there was room then
    await apply(system, admin.account_id, 6000_00, "another adjustment")  # 4,000.00 of room left

    decision = f"/api/finance/offline-payments/{payment_id}/decision"
    refused = await client.call("POST", decision, staff, json={"decision": "approve"})
    assert refused.status_code == 409 and refused.json()["code"] == "balance_limit", refused.text
    assert (await balance(client, admin))["balance"] == "999999996000.00"
    mine = (await client.call("GET", "/api/billing/offline-payments", admin)).json()["items"][0]
    assert mine["status"] == "pending_approval" and mine["approved_amount"] is None
    assert await events_of(system, "billing.offline_payment.") == ["billing.offline_payment.submitted"]
    assert len(await rows(system, "SELECT 1 FROM ledger_entry")) == 2  # the two adjustments

    # Finance can still decide it another way.
    rejected = await client.call("POST", decision, staff, json={"decision": "reject", "reason": "balance is full"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"


async def test_a_finance_services_approval_past_the_maximum_balance_becomes_a_rejection_saying_why(
    office: Any, amqp_url: str
) -> None:
    """The finance service cannot be answered 409: billing records the request rejected with the reason
    (the user sees it, and may submit the transfer again once the balance has room), instead of parking
    the decision where only an operator would find it."""
    client, system = office
    admin = await client.sign_up()
    await apply(system, admin.account_id, MAX_MINOR - 10_000_00, "large adjustment")
    payment_id = (await submit(client, admin)).json()["id"]
    await apply(system, admin.account_id, 6000_00, "another adjustment")

    approve = OfflinePaymentDecided(offline_payment_id=payment_id, decision="approve", decided_by="finance-desk-1")
    await publish_decision(amqp_url, approve, user_id="guest")

    async def decided() -> dict[str, Any] | None:
        item = (await client.call("GET", "/api/billing/offline-payments", admin)).json()["items"][0]
        return item if item["status"] != "pending_approval" else None

    item = await wait_for(decided, timeout=20)
    assert item["status"] == "rejected" and item["approved_amount"] is None
    assert "1000000000000.00" in item["reason"] and "5000.00" in item["reason"], item["reason"]
    assert (await balance(client, admin))["balance"] == "999999996000.00"
    assert await events_of(system, "billing.offline_payment.") == [
        "billing.offline_payment.submitted",
        "billing.offline_payment.rejected",
    ]
    rejected = await rows(system, "SELECT payload FROM outbox WHERE event_type = 'billing.offline_payment.rejected'")
    assert json.loads(rejected[0]["payload"])["data"]["reason"] == item["reason"]
    # After a rejection the reference is free again.
    await apply(system, admin.account_id, -1_000_000_00, "spent", kind="order")
    assert (await submit(client, admin)).status_code == 202
