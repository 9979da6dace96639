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

from typing import Any

import aio_pika
import httpx
import pytest

from billing.handlers import DECISIONS_QUEUE, apply_finance_decision
from billing.settings import BillingSettings
from tests.auth_client import AuthClient
from tests.harness import wait_for
from tests.integration.test_billing_offline import publish_decision, submit
from tollgate_shared.bus import topology
from tollgate_shared.bus.publisher_mark import PUBLISHER_HEADER, PublisherMarks
from tollgate_shared.events import new_event
from tollgate_shared.events.catalogue import OfflinePaymentDecided

pytestmark = pytest.mark.integration


class FailsOnce:
    """Billing's own decision handler, after one failure such as a deadlock or a dropped connection."""

    def __init__(self) -> None:
        self.calls = 0
        self.settings: BillingSettings | None = None  # the running service's, once it runs

    async def __call__(self, session: Any, event: Any) -> None:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("deadlock detected (induced)")
        assert self.settings is not None
        await apply_finance_decision(session, event, settings=self.settings)


async def parked(amqp_url: str) -> int:
    async with await aio_pika.connect(amqp_url) as connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(topology.dead_letter_queue(DECISIONS_QUEUE), passive=True)
        return queue.declaration_result.message_count or 0


async def test_a_decision_that_failed_once_is_applied_on_its_retry(start_system: Any, amqp_url: str) -> None:
    handler = FailsOnce()
    system = await start_system(
        services=("auth", "billing"),
        billing_settings={"finance_broker_user": "guest"},
        billing_consumers={DECISIONS_QUEUE: {"finance.offline_payment.decided": handler}},
    )
    handler.settings = system.apps["billing"].state.runtime.settings
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as http:
        client = AuthClient(http)
        admin = await client.sign_up()
        payment_id = (await submit(client, admin)).json()["id"]
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


async def test_a_decision_with_a_forged_publisher_mark_is_parked(start_system: Any, amqp_url: str) -> None:
    system = await start_system(services=("auth", "billing"), billing_settings={"finance_broker_user": "guest"})
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as http:
        client = AuthClient(http)
        admin = await client.sign_up()
        payment_id = (await submit(client, admin)).json()["id"]
        decided = OfflinePaymentDecided(offline_payment_id=payment_id, decision="approve", decided_by="mallory")
        before = await parked(amqp_url)
        wrong_key = PublisherMarks(b"not the services' internal key")
        forgeries = [
            lambda event_id, body: wrong_key.mark(event_id, "guest", body),  # marked without the key
            lambda event_id, body: {PUBLISHER_HEADER: "guest"},  # names the publisher, no mark
        ]
        for forge in forgeries:
            event = new_event("finance.offline_payment.decided", decided, source="finance")
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
