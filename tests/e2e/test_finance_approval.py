"""The reference finance approval service as a process, against billing over RabbitMQ.

It decides by its rules file (approve a small NEFT, reject a cheque), holds a
large transfer for a person who approves it from the command line, and a
submission it receives twice still credits the wallet once.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest
from aio_pika.abc import AbstractIncomingMessage

from tests.support.auth_client import AuthClient, User
from tests.support.harness import fetch, wait_for

pytestmark = pytest.mark.integration

QUEUE = "finance.offline-payments"
RULES = """
decided_by = "finance-rules"
currency = "INR"

[auto_approve]
neft = "10000.00"

[[reject]]
reason = "We no longer accept cheques."
modes = ["cheque"]
"""


@pytest.fixture
def finance(amqp_url: str, tmp_path: Path) -> Iterator[Any]:
    """Run `python -m finance_approval ARGS` with its own settings; `run` stays up until the test ends."""
    (tmp_path / "rules.toml").write_text(RULES)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLGATE_")}
    env.update(
        TOLLGATE_FINANCE_AMQP_URL=amqp_url,  # the test broker's only login, guest, plays finance's
        TOLLGATE_FINANCE_RULES=str(tmp_path / "rules.toml"),
        TOLLGATE_FINANCE_HELD_FILE=str(tmp_path / "held.sqlite3"),
        TOLLGATE_FINANCE_OPERATOR="asha@finance",
    )
    running: list[subprocess.Popen[bytes]] = []
    command = [sys.executable, "-m", "finance_approval"]

    class Finance:
        log = tmp_path / "finance.log"

        def start(self) -> subprocess.Popen[bytes]:
            process = subprocess.Popen(
                [*command, "run"], env=env, stdout=subprocess.DEVNULL, stderr=self.log.open("wb")
            )
            running.append(process)
            return process

        def stop(self, process: subprocess.Popen[bytes]) -> int:
            process.send_signal(signal.SIGTERM)
            return process.wait(timeout=30)

        def once(self, *args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([*command, *args], env=env, capture_output=True, text=True, timeout=60, check=False)

    yield Finance()
    for process in running:
        if process.poll() is None:
            process.kill()
            process.wait()


@contextlib.asynccontextmanager
async def decisions_published(amqp_url: str) -> AsyncIterator[list[AbstractIncomingMessage]]:
    """Every `finance.offline_payment.decided` published meanwhile, as billing's queue receives it."""
    seen: list[AbstractIncomingMessage] = []
    async with await aio_pika.connect(amqp_url) as connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind("tollgate.events", routing_key="finance.offline_payment.decided")

        async def keep(message: AbstractIncomingMessage) -> None:
            seen.append(message)

        await queue.consume(keep, no_ack=True)
        yield seen


async def submit(client: AuthClient, user: User, **details: str) -> str:
    body = {"paid_on": str(date.today()), "bank": "HDFC", **details}
    answer = await client.call("POST", "/api/billing/credits/offline", user, json=body)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


async def queued(amqp_url: str, name: str = QUEUE) -> int:
    async with await aio_pika.connect(amqp_url) as connection:
        queue = await (await connection.channel()).declare_queue(name, passive=True)
        return queue.declaration_result.message_count or 0


async def put_in_queue(amqp_url: str, body: bytes) -> None:
    async with await aio_pika.connect(amqp_url) as connection:
        channel = await connection.channel(publisher_confirms=True)
        await channel.default_exchange.publish(aio_pika.Message(body, message_id="stranger"), routing_key=QUEUE)


async def deliver_twice(amqp_url: str, payment_id: str) -> None:
    """Put a second copy of a submission in the queue: what the finance service sees when it
    crashed after its decision was confirmed but before its ack (same message, same event id)."""
    async with await aio_pika.connect(amqp_url) as connection:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue(QUEUE, passive=True)
        while (message := await queue.get(fail=False)) is not None:
            if json.loads(message.body)["data"]["offline_payment_id"] == payment_id:
                copy = aio_pika.Message(
                    message.body,
                    message_id=message.message_id,
                    content_type=message.content_type,
                    headers=dict(message.headers or {}),
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                )
                await channel.default_exchange.publish(copy, routing_key=QUEUE)
                return
        raise AssertionError(f"{payment_id} is not in {QUEUE}")
    # Leaving the block closes the channel: every message taken here goes back to the queue.


async def test_finance_service_decides_by_its_rules_once_and_a_person_decides_what_it_held(
    start_system: Any, amqp_url: str, finance: Any
) -> None:
    system = await start_system(services=("auth", "billing"), billing_settings={"finance_broker_user": "guest"})
    async with (
        httpx.AsyncClient(base_url=system.gateway, timeout=10) as http,
        decisions_published(amqp_url) as decisions,
    ):
        client = AuthClient(http)
        admin = await client.sign_up()
        small = await submit(client, admin, amount="5000.00", mode="neft", reference="UTR-SMALL")
        cheque = await submit(client, admin, amount="2000.00", mode="cheque", reference="CHQ-000123")
        large = await submit(client, admin, amount="250000.00", mode="neft", reference="UTR-LARGE")
        await wait_for(lambda: _equals(queued(amqp_url), 3), timeout=20)
        await deliver_twice(amqp_url, small)
        await put_in_queue(amqp_url, b"not a submission")

        async def offline_payments() -> dict[str, Any]:
            items = (await client.call("GET", "/api/billing/offline-payments", admin)).json()["items"]
            return {item["id"]: item for item in items}

        async def rules_applied() -> bool:
            payments = await offline_payments()
            return bool(payments[small]["status"] == "approved" and payments[cheque]["status"] == "rejected")

        process = finance.start()
        await wait_for(rules_applied, timeout=30)
        # Four submissions in (one twice): two approvals of the small one, one rejection, the large one held.
        await wait_for(lambda: _true(len(decisions) == 3), timeout=20)
        decided = [json.loads(message.body) for message in decisions]
        approvals = [d["id"] for d in decided if d["data"]["decision"] == "approve"]
        assert len(approvals) == 2 and {d["data"]["offline_payment_id"] for d in decided} == {small, cheque}

        async def billing_handled(event_ids: list[str]) -> bool:
            rows = await fetch(system.database_urls["billing"], "SELECT event_id FROM inbox")
            return set(event_ids) <= {row["event_id"] for row in rows}

        await wait_for(lambda: billing_handled([d["id"] for d in decided]), timeout=20)
        assert (await _balance(client, admin)) == "5000.00"  # credited once, though approved twice
        payments = await offline_payments()
        assert (
            payments[cheque]["reason"] == "We no longer accept cheques." and payments[cheque]["approved_amount"] is None
        )
        assert payments[large]["status"] == "pending_approval"

        for message, envelope in zip(decisions, decided, strict=True):
            assert message.user_id == "guest" and message.message_id == envelope["id"]
            assert message.content_type == "application/json"
            assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
            assert (envelope["type"], envelope["version"], envelope["source"]) == (
                "finance.offline_payment.decided",
                1,
                "finance",
            )
            assert envelope["account_id"] == admin.account_id and envelope["data"]["decided_by"] == "finance-rules"

        assert finance.stop(process) == 0
        assert await queued(amqp_url) == 0, finance.log.read_text()  # every submission acked, none left
        assert await wait_for(lambda: queued(amqp_url, QUEUE + ".dlq")) == 1  # the stranger is parked

        # A person approves the held transfer for what reached the bank.
        pending = finance.once("pending")
        assert pending.returncode == 0 and large in pending.stdout and small not in pending.stdout
        refused = finance.once("approve", large[:8], "--amount", "249990.00")
        assert refused.returncode == 2 and "needs a reason" in refused.stderr
        approved = finance.once("approve", large[:8], "--amount", "249990.00", "--reason", "bank charges")
        assert approved.returncode == 0, approved.stderr

        async def large_approved() -> bool:
            return bool((await offline_payments())[large]["status"] == "approved")

        await wait_for(large_approved, timeout=20)
        await wait_for(lambda: _true(len(decisions) == 4))
        by_hand = json.loads(decisions[3].body)["data"]
        assert (by_hand["decided_by"], by_hand["amount"], by_hand["reason"]) == (
            "asha@finance",
            "249990.00",
            "bank charges",
        )
        payment = (await offline_payments())[large]
        assert (payment["approved_amount"], payment["reason"]) == ("249990.00", "bank charges")
        assert (await _balance(client, admin)) == "254990.00"
        assert finance.once("pending").stdout.strip() == "nothing is waiting"
        ledger = (await client.call("GET", "/api/billing/ledger", admin)).json()
        assert sorted(e["amount"] for e in ledger["items"]) == ["249990.00", "5000.00"]


async def _balance(client: AuthClient, user: User) -> str:
    return str((await client.call("GET", "/api/billing/balance", user)).json()["balance"])


async def _equals(value: Any, expected: Any) -> bool:
    return bool(await value == expected)


async def _true(value: bool) -> bool:
    return value


async def put_again_as_another_submission(amqp_url: str, payment_id: str, reference: str) -> str:
    """What billing's old guard let through (issue 15): the same transfer submitted again after its approval,
    as a new offline payment. The original is put back first and the copy after it, so the finance service
    always meets them in that order (a message merely returned by closing the channel may come back behind
    the copy), and only then is the one taken acknowledged."""
    async with await aio_pika.connect(amqp_url) as connection:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue(QUEUE, passive=True)
        message = await queue.get(fail=True)
        assert message is not None
        envelope = json.loads(message.body)
        assert envelope["data"]["offline_payment_id"] == payment_id
        original = aio_pika.Message(
            message.body,
            headers=message.headers,
            message_id=message.message_id,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        await channel.default_exchange.publish(original, routing_key=QUEUE)
        envelope["id"] = str(uuid.uuid4())
        envelope["data"].update(offline_payment_id=str(uuid.uuid4()), reference=reference)
        copy = aio_pika.Message(
            json.dumps(envelope).encode(), message_id=envelope["id"], delivery_mode=aio_pika.DeliveryMode.PERSISTENT
        )
        await channel.default_exchange.publish(copy, routing_key=QUEUE)
        await message.ack()
    return str(envelope["data"]["offline_payment_id"])


async def test_the_finance_service_holds_a_transfer_it_approved_before_for_a_person(
    start_system: Any, amqp_url: str, finance: Any
) -> None:
    system = await start_system(services=("auth", "billing"), billing_settings={"finance_broker_user": "guest"})
    async with (
        httpx.AsyncClient(base_url=system.gateway, timeout=10) as http,
        decisions_published(amqp_url) as decisions,
    ):
        client = AuthClient(http)
        admin = await client.sign_up()
        first = await submit(client, admin, amount="5000.00", mode="neft", reference="UTR-TWICE")
        await wait_for(lambda: _equals(queued(amqp_url), 1), timeout=20)
        again = await put_again_as_another_submission(amqp_url, first, reference="utr twice")
        await wait_for(lambda: _equals(queued(amqp_url), 2), timeout=20)

        process = finance.start()

        async def held_for_a_person() -> bool:
            return again in finance.once("pending").stdout

        await wait_for(held_for_a_person, timeout=30)
        await wait_for(lambda: _true(len(decisions) == 1), timeout=20)
        assert finance.stop(process) == 0
        assert len(decisions) == 1 and json.loads(decisions[0].body)["data"]["offline_payment_id"] == first
        pending = finance.once("pending").stdout
        assert f"reference utr twice was approved before, as offline payment {first}" in pending, pending
        assert await queued(amqp_url) == 0, finance.log.read_text()  # both acked

        async def credited_once() -> bool:
            return await _balance(client, admin) == "5000.00"

        await wait_for(credited_once, timeout=20)
