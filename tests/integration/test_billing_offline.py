"""Offline top-ups: submitted by users, decided once by finance (staff API or the finance service's event)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aio_pika
import httpx
import pytest

from tests.support.auth_client import AuthClient, finance_staff
from tests.support.billing import balance, publish_decision, submit
from tests.support.harness import fetch, wait_for
from tollgate_shared.events.models import OfflinePaymentDecided

pytestmark = pytest.mark.integration

BANK = {
    "bank_account_name": "Tollgate Technologies Private Limited",
    "bank_account_number": "50200012345678",
    "bank_ifsc": "HDFC0001234",
    "bank_name": "HDFC Bank",
}


def india_today() -> date:
    """Today in India (UTC+05:30), the calendar transfers are dated by."""
    return (datetime.now(UTC) + timedelta(hours=5, minutes=30)).date()


async def test_paid_on_is_judged_by_indias_calendar(office: Any) -> None:
    client, _ = office
    admin = await client.sign_up()
    tomorrow = india_today() + timedelta(days=1)
    refused = await submit(client, admin, reference="UTR-IST-1", paid_on=str(tomorrow))
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert error["field"] == "paid_on" and error["message"].startswith("must not be in the future"), error
    assert (await client.call("GET", "/api/billing/offline-payments", admin)).json()["total"] == 0
    # India's today is taken even while it is still yesterday in UTC (before 05:30 in India).
    taken = await submit(client, admin, reference="UTR-IST-1", paid_on=str(india_today()))
    assert taken.status_code == 202, taken.text


async def test_the_bank_account_to_pay_into_is_served_to_users(start_system: Any) -> None:
    system = await start_system(services=("auth", "billing"), billing_settings=BANK)
    async with httpx.AsyncClient(base_url=system.gateway, timeout=30) as http:
        client = AuthClient(http)
        admin = await client.sign_up()
        member = await client.add_user(admin)
        await client.log_in(member)
        answer = await client.call("GET", "/api/billing/offline-payments/instructions", member)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {
            "configured": True,
            "account_name": "Tollgate Technologies Private Limited",
            "account_number": "50200012345678",
            "ifsc": "HDFC0001234",
            "bank": "HDFC Bank",
            "currency": "INR",
        }
        assert (await http.get("/api/billing/offline-payments/instructions")).status_code == 401


async def test_without_bank_details_the_instructions_say_they_are_not_set(office: Any) -> None:
    client, _ = office
    admin = await client.sign_up()
    answer = (await client.call("GET", "/api/billing/offline-payments/instructions", admin)).json()
    assert answer["configured"] is False and answer["account_number"] is None


async def test_submission_is_thanked_queued_for_finance_and_checked(office: Any, amqp_url: str) -> None:
    client, _ = office
    admin = await client.sign_up()
    answer = await submit(client, admin)
    assert answer.status_code == 202 and answer.json()["status"] == "pending_approval"
    assert "Thank you" in answer.json()["message"]
    assert (await submit(client, admin)).status_code == 409  # the same reference is pending
    future = await submit(client, admin, reference="UTR0002", paid_on=str(india_today() + timedelta(days=1)))
    assert future.status_code == 422 and future.json()["errors"][0]["field"] == "paid_on"
    for bad in ({"amount": 100.0}, {"amount": "0.00"}, {"mode": "cash"}):
        assert (await submit(client, admin, reference="UTR0003", **bad)).status_code == 422
    listing = (await client.call("GET", "/api/billing/offline-payments", admin)).json()
    assert listing["total"] == 1 and listing["items"][0]["reference"] == "UTR0001"

    async def queued() -> int:
        async with await aio_pika.connect(amqp_url) as connection:
            channel = await connection.channel()
            queue = await channel.declare_queue("finance.offline-payments", passive=True)
            return queue.declaration_result.message_count or 0

    assert await wait_for(queued) == 1  # kept for the finance service, which has never connected


async def test_finance_staff_approve_once_for_the_amount_that_arrived(
    office: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, system = office
    admin = await client.sign_up()
    staff = await finance_staff(client, system, monkeypatch)
    payment_id = (await submit(client, admin)).json()["id"]
    assert (await client.call("GET", "/api/finance/offline-payments", admin)).status_code == 403  # not staff
    pending = await client.call("GET", "/api/finance/offline-payments", staff, params={"status": "pending_approval"})
    assert [p["id"] for p in pending.json()["items"]] == [payment_id]
    assert pending.json()["items"][0]["account_name"] == "Acme"  # finance sees whose transfer it is

    decision = f"/api/finance/offline-payments/{payment_id}/decision"
    no_reason = await client.call("POST", decision, staff, json={"decision": "approve", "amount": "4990.00"})
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reason"
    approved = await client.call(
        "POST", decision, staff, json={"decision": "approve", "amount": "4990.00", "reason": "bank charges"}
    )
    assert approved.status_code == 200 and approved.json()["approved_amount"] == "4990.00"
    assert (await balance(client, admin))["balance"] == "4990.00"
    again = await client.call("POST", decision, staff, json={"decision": "reject", "reason": "changed my mind"})
    assert again.status_code == 409
    reject_without_reason = await client.call("POST", decision, staff, json={"decision": "reject"})
    assert reject_without_reason.status_code == 422  # validation comes before the conflict
    assert (await balance(client, admin))["balance"] == "4990.00"
    mine = (await client.call("GET", "/api/billing/offline-payments", admin)).json()["items"][0]
    assert mine["status"] == "approved" and mine["reason"] == "bank charges"


async def test_rejection_needs_a_reason_and_credits_nothing(office: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    client, system = office
    admin = await client.sign_up()
    staff = await finance_staff(client, system, monkeypatch)
    payment_id = (await submit(client, admin)).json()["id"]
    decision = f"/api/finance/offline-payments/{payment_id}/decision"
    rejected = await client.call("POST", decision, staff, json={"decision": "reject", "reason": "no such transfer"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert (await balance(client, admin))["balance"] == "0.00"
    rows = await fetch(
        system.database_urls["billing"],
        "SELECT event_type FROM outbox WHERE event_type LIKE 'billing.offline_payment.%'",
    )
    assert sorted(r["event_type"] for r in rows) == [
        "billing.offline_payment.rejected",
        "billing.offline_payment.submitted",
    ]


async def test_decisions_from_the_finance_service_count_once_and_only_from_its_broker_user(
    office: Any, amqp_url: str
) -> None:
    client, system = office
    admin = await client.sign_up()
    payment_id = (await submit(client, admin)).json()["id"]
    approve = OfflinePaymentDecided(offline_payment_id=payment_id, decision="approve", decided_by="finance-desk-1")

    await publish_decision(amqp_url, approve, user_id=None)  # anyone could have sent this: parked
    await asyncio.sleep(1.0)
    assert (await balance(client, admin))["balance"] == "0.00"

    for _ in range(2):  # the same decision twice, as separate events: applied once
        await publish_decision(amqp_url, approve, user_id="guest")

    async def credited() -> bool:
        return (await balance(client, admin))["balance"] == "5000.00"

    await wait_for(credited, timeout=20)
    await asyncio.sleep(1.0)
    assert (await balance(client, admin))["balance"] == "5000.00"
    rows = await fetch(
        system.database_urls["billing"],
        "SELECT payload FROM outbox WHERE event_type = 'billing.offline_payment.approved'",
    )
    assert len(rows) == 1 and json.loads(rows[0]["payload"])["data"]["approved_by"] == "finance-desk-1"


async def test_finance_staff_never_approve_more_than_was_submitted(
    office: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, system = office
    admin = await client.sign_up()
    staff = await finance_staff(client, system, monkeypatch)
    payment_id = (await submit(client, admin)).json()["id"]  # 5,000.00
    decision = f"/api/finance/offline-payments/{payment_id}/decision"

    more = {"decision": "approve", "amount": "5000.01", "reason": "more arrived"}
    refused = await client.call("POST", decision, staff, json=more)
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert error["field"] == "amount" and "5000.00" in error["message"], error
    assert (await balance(client, admin))["balance"] == "0.00"
    mine = (await client.call("GET", "/api/billing/offline-payments", admin)).json()["items"][0]
    assert mine["status"] == "pending_approval"

    same = await client.call("POST", decision, staff, json={"decision": "approve", "amount": "5000.00"})
    assert same.status_code == 200 and same.json()["approved_amount"] == "5000.00", same.text  # no reason needed


async def test_a_finance_services_approval_of_more_than_was_submitted_is_parked_and_changes_nothing(
    office: Any, amqp_url: str
) -> None:
    from tests.support.billing import parked

    client, _ = office
    admin = await client.sign_up()
    payment_id = (await submit(client, admin)).json()["id"]
    before = await parked(amqp_url)
    more = OfflinePaymentDecided(
        offline_payment_id=payment_id, decision="approve", amount="6000.00", reason="more", decided_by="desk-1"
    )
    await publish_decision(amqp_url, more, user_id="guest")

    async def parked_it() -> bool:
        return await parked(amqp_url) > before

    await wait_for(parked_it, timeout=20)
    assert (await balance(client, admin))["balance"] == "0.00"
    listed = (await client.call("GET", "/api/billing/offline-payments", admin)).json()["items"]
    assert [item["status"] for item in listed] == ["pending_approval"]

    # A decision within the rule still applies.
    fewer = OfflinePaymentDecided(
        offline_payment_id=payment_id, decision="approve", amount="4990.00", reason="charges", decided_by="desk-1"
    )
    await publish_decision(amqp_url, fewer, user_id="guest")

    async def credited() -> bool:
        return (await balance(client, admin))["balance"] == "4990.00"

    await wait_for(credited, timeout=20)


async def test_a_reference_pending_or_approved_is_refused_naming_the_first_and_after_a_rejection_it_is_free(
    office: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, system = office
    admin, other = await client.sign_up(), await client.sign_up()
    staff = await finance_staff(client, system, monkeypatch)
    first = (await submit(client, admin)).json()["id"]  # UTR0001, 5,000.00

    def names_first(answer: httpx.Response, status: str) -> None:
        assert answer.status_code == 409, answer.text
        problem = answer.json()
        assert problem["code"] == "duplicate_reference" and problem["offline_payment_id"] == first, problem
        assert problem["offline_payment_status"] == status and first in problem["detail"], problem

    names_first(await submit(client, admin), "pending_approval")
    # The same transfer however it is typed: case, spaces and dashes are not part of a UTR.
    names_first(await submit(client, admin, reference=" utr-0001 ", amount="10.00"), "pending_approval")
    decision = f"/api/finance/offline-payments/{first}/decision"
    assert (await client.call("POST", decision, staff, json={"decision": "approve"})).status_code == 200
    names_first(await submit(client, admin), "approved")  # issue 15: an approved transfer was credited again
    names_first(await submit(client, admin, reference="Utr 0001"), "approved")
    assert (await submit(client, other)).status_code == 202  # another account's UTR0001 is theirs

    refused = (await submit(client, admin, reference="UTR0002")).json()["id"]
    decision = f"/api/finance/offline-payments/{refused}/decision"
    rejected = await client.call("POST", decision, staff, json={"decision": "reject", "reason": "not received"})
    assert rejected.status_code == 200
    again = await submit(client, admin, reference="UTR0002")
    assert again.status_code == 202, again.text  # rejected: it may be submitted again
    assert (await submit(client, admin, reference="utr0002")).json()["offline_payment_id"] == again.json()["id"]

    assert (await balance(client, admin))["balance"] == "5000.00"
    mine = (await client.call("GET", "/api/billing/offline-payments", admin)).json()["items"]
    assert sorted((p["reference"], p["status"]) for p in mine) == [
        ("UTR0001", "approved"),
        ("UTR0002", "pending_approval"),
        ("UTR0002", "rejected"),
    ]


async def test_a_reference_with_nothing_to_compare_is_refused(office: Any) -> None:
    client, _ = office
    admin = await client.sign_up()
    for nothing in (" - - ", "ß" * 100, "ﬃ" * 100):  # upper-cased, ß is SS: twice as long as the column
        answer = await submit(client, admin, reference=nothing)
        assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "reference", answer.text
    # Only ASCII letters count: a long s or a dotless i is not an S or an I (it was 500 on PostgreSQL).
    assert (await submit(client, admin, reference="ß" * 98 + "\u017f\u0131")).status_code == 422
    assert (await submit(client, admin, reference="ß" * 97 + "n1x")).status_code == 202
    assert (await submit(client, admin, reference="N1X")).json()["code"] == "duplicate_reference"


async def test_submissions_of_one_reference_at_once_record_one(office: Any) -> None:
    client, _ = office
    admin = await client.sign_up()
    answers = await asyncio.gather(*(submit(client, admin, reference="utr0001") for _ in range(6)))
    assert sorted(a.status_code for a in answers) == [202] + [409] * 5, [a.text for a in answers]
    [accepted] = [a.json()["id"] for a in answers if a.status_code == 202]
    assert {a.json()["offline_payment_id"] for a in answers if a.status_code == 409} == {accepted}
