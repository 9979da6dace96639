"""The in-process bus keeps RabbitMQ's promises: routing, awaited handlers, retries, parking."""

from __future__ import annotations

import asyncio

import pytest

from tollgate_shared.bus import (
    Delivery,
    DependencyUnavailable,
    OutgoingMessage,
    PoisonMessage,
    PublishFailed,
    Subscription,
)
from tollgate_shared.bus.base import ATTEMPT_HEADER
from tollgate_shared.bus.inprocess import InProcessBroker, InProcessBus

DELAYS = (0.01, 0.01, 0.01)


class Recorder:
    """A handler that records each delivery and fails its first `failures` calls."""

    def __init__(self, failures: int = 0, error: type[Exception] = RuntimeError, pause: float = 0.0) -> None:
        self.failures = failures
        self.error = error
        self.pause = pause
        self.deliveries: list[Delivery] = []

    async def __call__(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)
        if self.pause:
            await asyncio.sleep(self.pause)
        if len(self.deliveries) <= self.failures:
            raise self.error("handler failed")


def message(routing_key: str = "billing.credits.added", message_id: str = "m-1") -> OutgoingMessage:
    return OutgoingMessage(message_id=message_id, routing_key=routing_key, body=b"{}", headers={"traceparent": "t"})


async def started_bus(*subscriptions: Subscription, broker: InProcessBroker | None = None) -> InProcessBus:
    bus = InProcessBus(broker or InProcessBroker(), retry_delays=DELAYS)
    for subscription in subscriptions:
        bus.subscribe(subscription)
    await bus.start()
    return bus


async def test_publish_reaches_every_matching_subscription() -> None:
    invoicing, notifications, auth = Recorder(), Recorder(), Recorder()
    bus = await started_bus(
        Subscription("invoicing.billing-events", ("billing.#",), invoicing),
        Subscription("notifications.credits", ("billing.credits.*",), notifications),
        Subscription("billing.auth-events", ("auth.account.created",), auth),
    )

    await bus.publish(message("billing.credits.added"))

    assert len(invoicing.deliveries) == 1
    assert len(notifications.deliveries) == 1
    assert auth.deliveries == []
    delivery = invoicing.deliveries[0]
    assert (delivery.message_id, delivery.routing_key, delivery.body) == ("m-1", "billing.credits.added", b"{}")
    assert delivery.headers["traceparent"] == "t"
    assert delivery.headers[ATTEMPT_HEADER] == "0"
    assert delivery.attempt == 0


async def test_publish_returns_only_after_the_handlers_finished() -> None:
    slow = Recorder(pause=0.05)
    finished: list[str] = []

    async def handler(delivery: Delivery) -> None:
        await slow(delivery)
        finished.append(delivery.message_id)

    bus = await started_bus(Subscription("invoicing.billing-events", ("billing.#",), handler))

    await bus.publish(message())

    assert finished == ["m-1"]


async def test_publish_reaches_subscriptions_of_other_buses_on_the_same_broker() -> None:
    broker = InProcessBroker()
    consumer = Recorder()
    await started_bus(Subscription("invoicing.billing-events", ("billing.#",), consumer), broker=broker)
    producer = await started_bus(broker=broker)

    await producer.publish(message())

    assert [d.message_id for d in consumer.deliveries] == ["m-1"]


async def test_closed_bus_no_longer_receives() -> None:
    broker = InProcessBroker()
    consumer = Recorder()
    bus = await started_bus(Subscription("invoicing.billing-events", ("billing.#",), consumer), broker=broker)
    producer = await started_bus(broker=broker)
    assert bus.is_ready()

    await bus.close()
    await producer.publish(message())

    assert not bus.is_ready()
    assert consumer.deliveries == []


async def test_subscriptions_wait_for_start() -> None:
    broker = InProcessBroker()
    consumer = Recorder()
    bus = InProcessBus(broker, retry_delays=DELAYS)
    bus.subscribe(Subscription("invoicing.billing-events", ("billing.#",), consumer))
    assert not bus.is_ready()

    await bus.publish(message())

    assert consumer.deliveries == []


async def test_failing_handler_is_retried_until_it_succeeds() -> None:
    flaky = Recorder(failures=2)
    broker = InProcessBroker()
    bus = await started_bus(Subscription("invoicing.billing-events", ("billing.#",), flaky), broker=broker)

    await bus.publish(message())

    assert len(flaky.deliveries) == 3
    assert [d.attempt for d in flaky.deliveries] == [0, 1, 2]
    assert [d.headers[ATTEMPT_HEADER] for d in flaky.deliveries] == ["0", "1", "2"]
    assert {d.message_id for d in flaky.deliveries} == {"m-1"}
    assert dict(broker.dead_letters) == {}


async def test_handler_that_always_fails_is_parked_after_the_last_retry() -> None:
    broken = Recorder(failures=1_000)
    broker = InProcessBroker()
    bus = await started_bus(Subscription("invoicing.billing-events", ("billing.#",), broken), broker=broker)

    await bus.publish(message())

    assert len(broken.deliveries) == len(DELAYS) + 1
    parked = broker.dead_letters["invoicing.billing-events"]
    assert [d.message_id for d in parked] == ["m-1"]
    assert parked[0].attempt == len(DELAYS)


async def test_one_failing_consumer_does_not_affect_another() -> None:
    broken, healthy = Recorder(failures=1_000), Recorder()
    broker = InProcessBroker()
    bus = await started_bus(
        Subscription("invoicing.billing-events", ("billing.#",), broken),
        Subscription("notifications.credits", ("billing.#",), healthy),
        broker=broker,
    )

    await bus.publish(message())

    assert len(healthy.deliveries) == 1
    assert list(broker.dead_letters) == ["invoicing.billing-events"]


async def test_poison_message_is_parked_at_once() -> None:
    poisoned = Recorder(failures=1_000, error=PoisonMessage)
    broker = InProcessBroker()
    bus = await started_bus(Subscription("billing.auth-events", ("auth.#",), poisoned), broker=broker)

    await bus.publish(message("auth.account.created"))

    assert len(poisoned.deliveries) == 1
    assert [d.attempt for d in broker.dead_letters["billing.auth-events"]] == [0]


async def test_unrouted_messages_are_fine() -> None:
    broker = InProcessBroker()
    consumer = Recorder()
    bus = await started_bus(Subscription("billing.auth-events", ("auth.#",), consumer), broker=broker)

    await bus.publish(message("invoicing.invoice.issued"))

    assert consumer.deliveries == []
    assert dict(broker.dead_letters) == {}


async def test_broadcast_subscriptions_are_not_retried_nor_parked() -> None:
    broken = Recorder(failures=1_000)
    broker = InProcessBroker()
    bus = await started_bus(
        Subscription("gateway.auth-broadcast", ("auth.ip_rules.changed",), broken, broadcast=True), broker=broker
    )

    await bus.publish(message("auth.ip_rules.changed"))

    assert len(broken.deliveries) == 1
    assert dict(broker.dead_letters) == {}


async def test_user_id_reaches_the_handler() -> None:
    consumer = Recorder()
    bus = await started_bus(Subscription("billing.finance-decisions", ("finance.#",), consumer))

    await bus.publish(
        OutgoingMessage(message_id="d-1", routing_key="finance.offline_payment.decided", body=b"{}", user_id="finance")
    )

    assert consumer.deliveries[0].user_id == "finance"


async def test_a_consumer_whose_database_is_away_fails_the_publish_uncounted_and_parks_nothing() -> None:
    async def away() -> bool:
        return False

    calls: list[int] = []

    async def needs_database(delivery: Delivery) -> None:
        calls.append(delivery.attempt)
        if len(calls) == 1:
            raise DependencyUnavailable("database", away)

    served = Recorder()
    broker = InProcessBroker()
    bus = await started_bus(
        Subscription("billing.events", ("billing.#",), needs_database),
        Subscription("invoicing.events", ("billing.#",), served),
        broker=broker,
    )

    with pytest.raises(PublishFailed):  # the outbox row stays unsent; the relay tries again
        await bus.publish(message())
    assert calls == [0] and broker.dead_letters == {}
    assert len(served.deliveries) == 1  # the other consumer was served, and finished, meanwhile

    await bus.publish(message())  # the relay's next try
    assert calls == [0, 0]  # no attempt was counted
