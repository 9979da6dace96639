"""What the event-delivery tests share: signing up, reading wallets, publishing raw events to a queue,
the outbox's unsent events and the queues' depths."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import aio_pika
import httpx

from billing.handlers import open_wallet
from tests.support.harness import TEST_RETRY_DELAYS, fetch
from tollgate_shared.bus import topology
from tollgate_shared.events import new_event
from tollgate_shared.events.models import AccountCreated

ACCOUNT_QUEUE = "billing.auth-events"


async def sign_up(gateway: str, email: str | None = None) -> str:
    async with httpx.AsyncClient(base_url=gateway, timeout=10) as client:
        response = await client.post(
            "/api/accounts",
            json={
                "account_name": "Acme",
                "email": email or f"{uuid.uuid4().hex}@example.com",
                "password": "correct horse battery",
            },
        )
    assert response.status_code == 201, response.text
    account_id: str = response.json()["account"]["id"]
    return account_id


async def wallets(database_url: str, account_id: str) -> int:
    rows = await fetch(database_url, "SELECT count(*) AS n FROM wallet WHERE account_id = $1", account_id)
    return int(rows[0]["n"])


async def unsent_events(database_url: str) -> int:
    rows = await fetch(database_url, "SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL")
    return int(rows[0]["n"])


class CountingHandler:
    """Billing's real `open_wallet`, counting its calls, failing the first `failures` ones."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.calls = 0

    async def __call__(self, session: Any, event: Any) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise RuntimeError(f"induced failure {self.calls}")
        await open_wallet(session, event, currency="INR")

    def consumers(self) -> dict[str, dict[str, Callable[..., Any]]]:
        return {ACCOUNT_QUEUE: {"auth.account.created": self}}


async def publish_raw(amqp_url: str, routing_key: str, body: bytes, message_id: str) -> None:
    async with await aio_pika.connect(amqp_url) as connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange("tollgate.events")
        message = aio_pika.Message(body, message_id=message_id, delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
        await exchange.publish(message, routing_key=routing_key)


def account_created_event() -> Any:
    account_id = str(uuid.uuid4())
    data = AccountCreated(account_id=account_id, account_name="Acme", admin_user_id=str(uuid.uuid4()))
    return new_event(data, source="auth", account_id=account_id)


async def queue_counts(amqp_url: str, name: str) -> tuple[int, int]:
    """(messages ready, consumers) of a queue."""
    async with await aio_pika.connect(amqp_url) as connection:
        channel = await connection.channel()
        declared = (await channel.declare_queue(name, passive=True)).declaration_result
        return declared.message_count or 0, declared.consumer_count or 0


async def parked_or_delayed(amqp_url: str) -> int:
    """Messages in billing's dead-letter queue and retry tiers for auth events."""
    names = [topology.dead_letter_queue(ACCOUNT_QUEUE)]
    names += [topology.retry_queue(ACCOUNT_QUEUE, delay) for delay in TEST_RETRY_DELAYS]
    return sum([(await queue_counts(amqp_url, name))[0] for name in names])
