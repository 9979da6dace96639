"""A finance decision whose first attempt fails for a passing reason is applied when it is retried.

Billing accepts `finance.offline_payment.decided` only when the AMQP `user_id`
property names the finance service's broker login. A delivery that fails is
republished to a delay queue for a later attempt (`tollgate_shared.bus.rabbitmq`);
that copy must keep the proof of who published it, or the retry is refused as
poison and the approval never reaches the wallet. (The two-process test met
this after a deadlock: the decision was parked in the dead-letter queue.) The
copy carries a publisher mark under the internal key
(`tollgate_shared.bus.publisher_mark`); a forged mark proves nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import httpx
import pytest

from billing.handlers import DECISIONS_QUEUE, apply_finance_decision
from billing.settings import BillingSettings
from tests.support.auth_client import AuthClient, User
from tests.support.billing import parked, publish_decision, submit
from tests.support.harness import TEST_RETRY_DELAYS, wait_for
from tollgate_shared.bus import topology
from tollgate_shared.bus.dead_letters import replay_dead_letters
from tollgate_shared.bus.publisher_mark import PUBLISHER_HEADER, PublisherMarks
from tollgate_shared.events import new_event
from tollgate_shared.events.models import OfflinePaymentDecided

pytestmark = pytest.mark.integration


class FailsFirst:
    """Billing's own decision handler, after `failures` failures such as a deadlock or a dropped connection."""

    def __init__(self, failures: int = 1) -> None:
        self.failures = failures
        self.calls = 0
        self.settings: BillingSettings | None = None  # the running service's, once it runs

    async def __call__(self, session: Any, event: Any) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise RuntimeError("deadlock detected (induced)")
        assert self.settings is not None
        await apply_finance_decision(session, event, settings=self.settings)


@contextlib.asynccontextmanager
async def pending_transfer(
    start_system: Any, handler: FailsFirst | None = None
) -> AsyncIterator[tuple[AuthClient, User, str]]:
    """Auth and billing (its decision handler replaced by `handler`, if any), an administrator, and
    the id of the offline payment they submitted, awaiting a decision."""
    consumers = {DECISIONS_QUEUE: {"finance.offline_payment.decided": handler}} if handler else None
    system = await start_system(
        services=("auth", "billing"), billing_settings={"finance_broker_user": "guest"}, billing_consumers=consumers
    )
    if handler is not None:
        handler.settings = system.apps["billing"].state.runtime.settings
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as http:
        client = AuthClient(http)
        admin = await client.sign_up()
        yield client, admin, (await submit(client, admin)).json()["id"]


async def test_a_decision_that_failed_once_is_applied_on_its_retry(start_system: Any, amqp_url: str) -> None:
    handler = FailsFirst()
    async with pending_transfer(start_system, handler) as (client, admin, payment_id):
        decided = OfflinePaymentDecided(offline_payment_id=payment_id, decision="approve", decided_by="finance-desk-1")
        await publish_decision(amqp_url, decided, user_id="guest")

        async def retried_and_settled() -> bool:
            balance = (await client.call("GET", "/api/billing/balance", admin)).json()["balance"]
            return handler.calls >= 2 or balance != "0.00" or await parked(amqp_url) > 0

        await wait_for(retried_and_settled, timeout=30)
        assert await parked(amqp_url) == 0, "the retried decision was parked as poison"

        async def credited() -> bool:
            return (await client.call("GET", "/api/billing/balance", admin)).json()["balance"] == "5000.00"

        await wait_for(credited, timeout=30)
        assert handler.calls == 2


async def test_a_decision_parked_after_every_retry_failed_is_applied_by_dlq_replay(
    start_system: Any, amqp_url: str
) -> None:
    # Every attempt fails (the first and one per delay tier): the decision is parked, carrying the mark.
    handler = FailsFirst(failures=1 + len(TEST_RETRY_DELAYS))
    async with pending_transfer(start_system, handler) as (client, admin, payment_id):
        decided = OfflinePaymentDecided(offline_payment_id=payment_id, decision="approve", decided_by="finance-desk-1")
        before = await parked(amqp_url)
        await publish_decision(amqp_url, decided, user_id="guest")

        async def parked_after_the_last_retry() -> bool:
            return await parked(amqp_url) > before

        await wait_for(parked_after_the_last_retry, timeout=30)
        assert handler.calls == handler.failures
        assert (await client.call("GET", "/api/billing/balance", admin)).json()["balance"] == "0.00"

        # The operator replays it (no key needed: the mark travels with the parked copy).
        assert await replay_dead_letters(amqp_url, [DECISIONS_QUEUE]) == 1

        async def credited() -> bool:
            return (await client.call("GET", "/api/billing/balance", admin)).json()["balance"] == "5000.00"

        await wait_for(credited, timeout=30)
        assert await parked(amqp_url) == 0


async def test_a_decision_with_a_forged_publisher_mark_is_parked(start_system: Any, amqp_url: str) -> None:
    async with pending_transfer(start_system) as (client, admin, payment_id):
        decided = OfflinePaymentDecided(offline_payment_id=payment_id, decision="approve", decided_by="mallory")
        before = await parked(amqp_url)
        wrong_key = PublisherMarks(b"not the services' internal key")
        forgeries = [
            lambda event_id, body: wrong_key.mark(event_id, "guest", body),  # marked without the key
            lambda event_id, body: {PUBLISHER_HEADER: "guest"},  # names the publisher, no mark
        ]
        for forge in forgeries:
            event = new_event(decided, source="finance")
            body = event.to_json()
            async with await aio_pika.connect(amqp_url) as connection:
                channel = await connection.channel(publisher_confirms=True)
                exchange = await channel.get_exchange(topology.EXCHANGE)
                message = aio_pika.Message(body, message_id=event.id, headers=forge(event.id, body))
                await exchange.publish(message, routing_key=event.type)

        async def both_parked() -> bool:
            return await parked(amqp_url) >= before + 2

        await wait_for(both_parked, timeout=15)
        balance = (await client.call("GET", "/api/billing/balance", admin)).json()["balance"]
        assert balance == "0.00"
        listed = (await client.call("GET", "/api/billing/offline-payments", admin)).json()
        assert [item["status"] for item in listed["items"]] == ["pending_approval"]
