"""The in-process bus: embedded mode and unit tests.

Same promise as RabbitMQ: at-least-once, and a publish counts as done only once
every consumer's transaction has committed, so the outbox row stays unsent
until then (a crash re-publishes it; the inbox absorbs the repeat). Failed
deliveries are retried after the same backoff tiers; after the last one the
message is parked in `dead_letters` and logged. A consumer whose database is
away (`DependencyUnavailable`) fails the publish instead, uncounted and parking
nothing: the publisher's outbox row stays unsent and its relay tries again with
backoff, which is this bus's way of not taking messages until it answers.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence

from tollgate_shared.bus.base import (
    ATTEMPT_HEADER,
    Bus,
    Delivery,
    DependencyUnavailable,
    OutgoingMessage,
    PoisonMessage,
    PublishFailed,
    Subscription,
    topic_matches,
)
from tollgate_shared.bus.topology import dead_letter_queue
from tollgate_shared.metrics.catalogue import handled

log = logging.getLogger(__name__)


class InProcessBroker:
    """What the services of one process share: their subscriptions and parked messages."""

    def __init__(self) -> None:
        self.subscriptions: list[Subscription] = []
        self.dead_letters: dict[str, list[Delivery]] = defaultdict(list)

    def routes(self, routing_key: str) -> list[Subscription]:
        return [
            sub
            for sub in self.subscriptions
            if any(topic_matches(pattern, routing_key) for pattern in sub.routing_keys)
        ]


class InProcessBus(Bus):
    delivers_inline = True

    def __init__(self, broker: InProcessBroker, *, retry_delays: tuple[float, ...] = (0.1, 1.0)):
        super().__init__()
        self.broker = broker
        self.retry_delays = retry_delays
        self._started = False

    async def start(self) -> None:
        self.broker.subscriptions.extend(self.subscriptions)
        self._started = True

    async def close(self) -> None:
        for sub in self.subscriptions:
            if sub in self.broker.subscriptions:
                self.broker.subscriptions.remove(sub)
        self._started = False

    def is_ready(self) -> bool:
        return self._started

    async def message_counts(self, queues: Sequence[str]) -> dict[str, int]:
        """The parked messages of the dead-letter queues among `queues` (this bus has no other queues)."""
        parked = {dead_letter_queue(queue): len(messages) for queue, messages in self.broker.dead_letters.items()}
        owned = {dead_letter_queue(sub.queue) for sub in self.subscriptions}
        return {name: parked.get(name, 0) for name in queues if name in owned or name in parked}

    async def publish(self, message: OutgoingMessage) -> None:
        # Unrouted messages are fine, as with RabbitMQ's alternate exchange.
        deliveries = [self._deliver(sub, message) for sub in self.broker.routes(message.routing_key)]
        # Every delivery finishes before a failure is reported: the retry comes from
        # the relay, and must not meet this one still running.
        for outcome in await asyncio.gather(*deliveries, return_exceptions=True):
            if isinstance(outcome, BaseException):
                raise outcome

    async def _deliver(self, sub: Subscription, message: OutgoingMessage) -> None:
        for attempt in range(len(self.retry_delays) + 1):
            delivery = Delivery(
                message_id=message.message_id,
                routing_key=message.routing_key,
                body=message.body,
                headers={**message.headers, ATTEMPT_HEADER: str(attempt)},
                attempt=attempt,
                user_id=message.user_id,
            )
            try:
                await sub.handler(delivery)
                handled(sub.queue, "ok").inc()
                return
            except PoisonMessage:
                log.error("poison message %s parked from %s", message.message_id, sub.queue)
                break
            except DependencyUnavailable as outage:
                handled(sub.queue, "dropped" if sub.broadcast else "given_back").inc()
                if sub.broadcast:
                    return
                # The relay's next try reaches every consumer again; those that applied it have it in their inbox.
                raise PublishFailed(f"{sub.queue}: {outage} ({outage.__cause__!r})") from outage
            except Exception:
                log.exception("handler of %s failed on %s (attempt %d)", sub.queue, message.message_id, attempt)
                if sub.broadcast:
                    handled(sub.queue, "dropped").inc()
                    return
                if attempt < len(self.retry_delays):
                    handled(sub.queue, "retried").inc()
                    await asyncio.sleep(self.retry_delays[attempt])
        handled(sub.queue, "dead_lettered").inc()
        self.broker.dead_letters[sub.queue].append(delivery)
