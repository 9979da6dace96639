"""Consuming from RabbitMQ: ack after the handler, give back for an outage, retry through delay tiers, park."""

from __future__ import annotations

import asyncio
import logging
from functools import partial

from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue

from tollgate_shared.bus import topology
from tollgate_shared.bus.base import DependencyUnavailable, PoisonMessage, Subscription
from tollgate_shared.bus.outages import Outages
from tollgate_shared.bus.publisher_mark import PublisherMarks
from tollgate_shared.bus.rabbitmq.declaring import declare_retry_queues, declare_work_queue
from tollgate_shared.bus.rabbitmq.messages import copy_message, to_delivery
from tollgate_shared.bus.rabbitmq.publishing import RabbitMQPublisher
from tollgate_shared.metrics.catalogue import handled

log = logging.getLogger(__name__)
# How often a message is given back for an outage before its failures count (`_give_back`).
MAX_GIVE_BACKS = 50
GIVEN_BACK_HEADER = "x-tollgate-given-back"


class RabbitMQBus(RabbitMQPublisher):
    def __init__(
        self,
        url: str,
        *,
        connection_name: str,
        prefetch: int = 100,
        delivery_limit: int = 10,
        retry_delays: tuple[float, ...] = (1, 10, 60),
        publisher_marks: PublisherMarks | None = None,
        outage_probe_max: float | None = None,
    ) -> None:
        super().__init__(url, connection_name=connection_name)
        # Keeps who published a message across retries (trusted queues check it).
        self.publisher_marks = publisher_marks
        self.prefetch = prefetch
        self.delivery_limit = delivery_limit
        self.retry_delays = retry_delays
        self.consume_channel: AbstractChannel | None = None
        self.queues: list[AbstractQueue] = []
        # Subscription queue → the declared queue and its consumer tag (None while paused).
        self.consuming: dict[str, tuple[AbstractQueue, str | None]] = {}
        self.outages = Outages(
            stop=self._stop_consuming, start=self._start_consuming, owner=connection_name, max_probe=outage_probe_max
        )
        # Deliveries whose handler runs or whose settlement is under way; a shutdown waits for them.
        self.in_hand = 0
        self._settled = asyncio.Event()
        self._settled.set()
        self._draining = False

    async def start(self) -> None:
        connection = await self._connect()
        assert self.publish_channel is not None
        for queue_name, keys in self.declared_queues.items():
            await declare_work_queue(self.publish_channel, queue_name, keys, delivery_limit=self.delivery_limit)
        if self.subscriptions:
            self.consume_channel = await connection.channel()
            await self.consume_channel.set_qos(prefetch_count=self.prefetch)
            for sub in self.subscriptions:
                await self._consume(sub)

    async def _consume(self, sub: Subscription) -> None:
        assert self.consume_channel is not None
        channel = self.consume_channel
        if sub.broadcast:
            queue = await channel.declare_queue(f"{sub.queue}.{self.connection_name}", exclusive=True, auto_delete=True)
        else:
            queue = await declare_work_queue(channel, sub.queue, (), delivery_limit=self.delivery_limit)
            await declare_retry_queues(channel, sub.queue, self.retry_delays)
        for key in sub.routing_keys:
            await queue.bind(topology.EXCHANGE, routing_key=key)
        self.queues.append(queue)
        self.consuming[sub.queue] = (queue, None)
        await self._start_consuming(sub)

    async def _start_consuming(self, sub: Subscription) -> None:
        queue, tag = self.consuming[sub.queue]
        if tag is None and not self._draining:
            self.consuming[sub.queue] = (queue, await queue.consume(partial(self._on_message, sub)))

    async def _stop_consuming(self, sub: Subscription) -> None:
        """basic.cancel: no more deliveries; those in hand stay ours to settle."""
        queue, tag = self.consuming[sub.queue]
        self.consuming[sub.queue] = (queue, None)
        if tag is None:
            return
        if self.is_ready():
            await queue.cancel(tag)  # the robust queue forgets it first: a reconnect does not restore it
        else:
            await _forget_consumer(queue, tag)

    async def _on_message(self, sub: Subscription, message: AbstractIncomingMessage) -> None:
        self.in_hand += 1
        self._settled.clear()
        try:
            await self._handle(sub, message)
        finally:
            self.in_hand -= 1
            if self.in_hand == 0:
                self._settled.set()

    async def _handle(self, sub: Subscription, message: AbstractIncomingMessage) -> None:
        delivery = to_delivery(message, self.publisher_marks)
        try:
            await sub.handler(delivery)
        except PoisonMessage:
            log.error("poison message %s parked from %s", delivery.message_id, sub.queue)
            await message.reject(requeue=False)
            handled(sub.queue, "dead_lettered").inc()
            return
        except DependencyUnavailable as outage:
            await self._on_outage(sub, message, outage, delivery.attempt)
            return
        except Exception:
            log.exception("handler of %s failed on %s (attempt %d)", sub.queue, delivery.message_id, delivery.attempt)
            await self._retry_or_park(sub, message, delivery.attempt)
            return
        await message.ack()
        handled(sub.queue, "ok").inc()

    async def _on_outage(
        self, sub: Subscription, message: AbstractIncomingMessage, outage: DependencyUnavailable, attempt: int
    ) -> None:
        """Pause what depends on the dependency found away, and give the message back."""
        if sub.broadcast:  # broadcast state is resynchronised by its owner
            await message.ack()
            handled(sub.queue, "dropped").inc()
            return
        self.outages.begin(outage, [s for s in self.subscriptions if _paused_with(s, sub, outage.dependency)])
        await self._give_back(sub, message, attempt)

    async def _give_back(self, sub: Subscription, message: AbstractIncomingMessage, attempt: int) -> None:
        """Put `message` back at the end of its queue as it came: the same attempt, no delivery spent.

        A nack with requeue, or a channel closed with the message unacked, would
        count against the quorum queue's `x-delivery-limit` (RabbitMQ 3.x counts every
        return), and a long enough outage would dead-letter the message. A copy
        confirmed, then the original acked, spends nothing.

        An outage gives a message back about once (its consumers pause at once);
        one given back `MAX_GIVE_BACKS` times fails for something a probe of the
        database does not see, and takes the ordinary retries instead of looping.
        """
        given_back = int(str((message.headers or {}).get(GIVEN_BACK_HEADER) or 0))
        if given_back >= MAX_GIVE_BACKS:
            log.error("%s given back %d times from %s; retried as a failure", message.message_id, given_back, sub.queue)
            await self._retry_or_park(sub, message, attempt)
            return
        handled(sub.queue, "given_back").inc()
        try:
            copy = copy_message(message, attempt=attempt, marks=self.publisher_marks)
            copy.headers[GIVEN_BACK_HEADER] = given_back + 1
            await self._publish_raw(copy.body, copy.properties, routing_key=sub.queue, default_exchange=True)
        except Exception:
            log.exception("could not give %s back to %s; requeueing it", message.message_id, sub.queue)
            await message.nack(requeue=True)
            return
        await message.ack()

    async def _retry_or_park(self, sub: Subscription, message: AbstractIncomingMessage, attempt: int) -> None:
        if sub.broadcast:
            # Broadcast state is resynchronised by its owner; never loop on it.
            await message.ack()
            handled(sub.queue, "dropped").inc()
            return
        if attempt >= len(self.retry_delays):
            await message.reject(requeue=False)  # dead-letters into <queue>.dlq
            handled(sub.queue, "dead_lettered").inc()
            return
        handled(sub.queue, "retried").inc()
        delay = self.retry_delays[attempt]
        try:
            copy = copy_message(message, attempt=attempt + 1, marks=self.publisher_marks)
            await self._publish_raw(
                copy.body, copy.properties, routing_key=topology.retry_queue(sub.queue, delay), default_exchange=True
            )
        except Exception:
            # Could not park it for later: let the broker redeliver (the
            # delivery limit stops an endless loop).
            log.exception("could not schedule a retry of %s", message.message_id)
            await message.nack(requeue=True)
            return
        await message.ack()

    @property
    def paused_for(self) -> frozenset[str]:
        return self.outages.dependencies

    async def stop_consuming(self, within: float) -> int:
        """basic.cancel on every queue, then wait up to `within` s for the deliveries in hand.

        Consumers paused for an outage stay paused (nothing resumes them now); a message
        still unsettled when the connection closes goes back to its queue for another
        replica, counted against its delivery limit, and its inbox entry keeps it from
        being applied twice.
        """
        self._draining = True
        await self.outages.close()
        for sub in self.subscriptions:
            if sub.queue not in self.consuming:
                continue
            try:
                await self._stop_consuming(sub)
            except Exception as exc:  # the connection is down: the broker has taken them back already
                log.warning("%s: could not cancel the consumer of %s (%s)", self.connection_name, sub.queue, exc)
        # Deliveries that arrived before the cancel-ok start their handlers on the next turns of the loop.
        await asyncio.sleep(0.05)
        log.info("%s: consumers cancelled with %d messages in hand", self.connection_name, self.in_hand)
        try:
            await asyncio.wait_for(self._settled.wait(), timeout=within)
        except TimeoutError:
            log.warning("%s: %d messages still in hand at the shutdown deadline", self.connection_name, self.in_hand)
        return self.in_hand

    async def close(self) -> None:
        await self.outages.close()
        await super().close()


async def _forget_consumer(queue: AbstractQueue, tag: str) -> None:
    """Stop `tag` being restored by a reconnect, without waiting for the broker, which is away.

    The broker dropped the consumer with the connection; a basic.cancel now would wait
    for the reconnect (a shutdown used to wait out its whole drain deadline here). The
    robust queue forgets the consumer first thing in `cancel`, before its first await,
    so the call is started, given that one step, and abandoned.
    """
    cancelling = asyncio.ensure_future(queue.cancel(tag))
    await asyncio.sleep(0)
    cancelling.cancel()
    await asyncio.wait({cancelling})
    if not cancelling.cancelled():
        cancelling.exception()  # retrieved: whatever it was, the connection is away


def _paused_with(sub: Subscription, failed: Subscription, dependency: str) -> bool:
    """Whether `sub` pauses when `failed`'s handler found `dependency` away."""
    return not sub.broadcast and (sub is failed or sub.depends_on == dependency)
