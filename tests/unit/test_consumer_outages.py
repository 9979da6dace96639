"""Consumers pause once per outage of what they depend on, and resume by themselves when it answers."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from tests.support.harness import wait_for
from tollgate_shared.bus import Delivery, DependencyUnavailable, Subscription
from tollgate_shared.bus import outages as outages_module
from tollgate_shared.bus.outages import Outages
from tollgate_shared.bus.rabbitmq import GIVEN_BACK_HEADER, MAX_GIVE_BACKS, RabbitMQBus


async def ignore(_delivery: Delivery) -> None:
    return None


WALLETS = Subscription("billing.auth-events", ("auth.account.created",), ignore, depends_on="database")
DECISIONS = Subscription("billing.finance-decisions", ("finance.#",), ignore, depends_on="database")


class Database:
    """Answers once `up` is set; counts the probes."""

    def __init__(self) -> None:
        self.up = False
        self.probes = 0

    async def answers(self) -> bool:
        self.probes += 1
        return self.up


async def test_an_outage_pauses_each_consumer_once_and_resumes_them_when_the_database_answers(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(outages_module, "FIRST_PROBE_SECONDS", 0.01)
    monkeypatch.setattr(outages_module, "MAX_PROBE_SECONDS", 0.02)
    switched: list[tuple[str, str]] = []

    async def stop(sub: Subscription) -> None:
        switched.append(("stop", sub.queue))

    async def start(sub: Subscription) -> None:
        switched.append(("start", sub.queue))

    database = Database()
    outages = Outages(stop=stop, start=start, owner="billing-1")
    with caplog.at_level(logging.INFO, logger="tollgate_shared.bus.outages"):
        for _ in range(3):  # every delivery in hand reports it
            outages.begin(DependencyUnavailable("database", database.answers), [WALLETS, DECISIONS])
        await wait_for(lambda: _at_least(database, 3), timeout=5, interval=0.01)

        assert outages.dependencies == {"database"}
        assert switched == [("stop", WALLETS.queue), ("stop", DECISIONS.queue)]

        database.up = True
        await wait_for(lambda: _resumed(outages), timeout=5, interval=0.01)
    assert switched[2:] == [("start", WALLETS.queue), ("start", DECISIONS.queue)]
    messages = [(record.levelname, record.getMessage()) for record in caplog.records]
    assert [level for level, _ in messages] == ["WARNING", "INFO"]  # once at the pause, once at the resume
    assert "billing.auth-events, billing.finance-decisions" in messages[0][1]


async def _at_least(database: Database, probes: int) -> bool:
    return database.probes >= probes


async def _resumed(outages: Outages) -> bool:
    await asyncio.sleep(0)
    return not outages.dependencies


class Message:
    """What `_give_back` reads of an incoming message, and whether it was acked."""

    def __init__(self, headers: dict[str, object]) -> None:
        self.headers = headers
        self.body, self.message_id, self.routing_key = b"{}", "m-1", "auth.account.created"
        self.content_type, self.type, self.app_id, self.timestamp, self.user_id = (
            "application/json",
            None,
            None,
            None,
            None,
        )
        self.acked = False

    async def ack(self) -> None:
        self.acked = True


async def test_a_message_given_back_again_and_again_takes_the_ordinary_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """An outage gives a message back about once; endless give-backs are a failure a probe does not see."""
    bus = RabbitMQBus("amqp://unused", connection_name="billing-1")
    published: list[tuple[str, object]] = []
    retried: list[int] = []

    async def publish_raw(_body: bytes, properties: Any, *, routing_key: str, default_exchange: bool) -> None:
        published.append((routing_key, properties.headers[GIVEN_BACK_HEADER]))

    async def retry_or_park(_sub: Subscription, _message: Any, attempt: int) -> None:
        retried.append(attempt)

    monkeypatch.setattr(bus, "_publish_raw", publish_raw)
    monkeypatch.setattr(bus, "_retry_or_park", retry_or_park)

    first = Message({})
    await bus._give_back(WALLETS, first, 0)  # type: ignore[arg-type]
    assert published == [(WALLETS.queue, 1)] and first.acked and retried == []

    worn = Message({GIVEN_BACK_HEADER: MAX_GIVE_BACKS})
    await bus._give_back(WALLETS, worn, 2)  # type: ignore[arg-type]
    assert published == [(WALLETS.queue, 1)] and retried == [2]
