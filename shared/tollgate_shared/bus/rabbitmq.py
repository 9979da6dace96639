"""The RabbitMQ adapter (aio-pika).

Publishing: one confirm channel, `mandatory` with `on_return_raises`, persistent
messages. Consuming: durable quorum queues with a delivery limit and a
dead-letter queue; a failed message is republished to the next delay tier and
acked, and after the last tier rejected into its dead-letter queue. A message
whose handler found its database away (`DependencyUnavailable`) is given back
uncounted and the queues depending on it stop being consumed until it answers
(`outages.py`). Channels and queues are kept as attributes so the robust
connection restores consumers after a reconnect. At shutdown `stop_consuming`
cancels every consumer and waits for the messages in hand to be settled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from functools import partial
from typing import Any, cast

import aio_pika
import aiormq
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)

from tollgate_shared.bus import topology
from tollgate_shared.bus.base import (
    ATTEMPT_HEADER,
    Bus,
    Delivery,
    DependencyUnavailable,
    OutgoingMessage,
    PoisonMessage,
    PublishFailed,
    Subscription,
)
from tollgate_shared.bus.outages import Outages
from tollgate_shared.bus.publisher_mark import PublisherMarks, publisher_of
from tollgate_shared.events.catalogue import CATALOGUE
from tollgate_shared.metrics.catalogue import handled

log = logging.getLogger(__name__)
PUBLISH_TIMEOUT_SECONDS = 10.0
# Frames a connection queues for its socket writer (aiormq's default is 10). A
# publisher that finds the queue full waits for the writer, one event-loop pass
# per ten messages: in a busy service a relay batch of 500 took 1 to 3 s and the
# outbox fell thousands of events behind (bench/README.md). A batch now queues
# in one pass; the broker's confirms still pace the relay. aiormq reads this class
# attribute when it opens a connection, reconnections included.
FRAME_QUEUE_SIZE = 2048
# How often a message is given back for an outage before its failures count (`_give_back`).
MAX_GIVE_BACKS = 50
GIVEN_BACK_HEADER = "x-tollgate-given-back"
aiormq.Connection.FRAME_BUFFER_SIZE = FRAME_QUEUE_SIZE


def _headers_of(message: AbstractIncomingMessage) -> dict[str, str]:
    return {
        str(k): v.decode(errors="replace") if isinstance(v, bytes) else str(v)
        for k, v in (message.headers or {}).items()
        if v is not None
    }


def to_delivery(message: AbstractIncomingMessage, marks: PublisherMarks | None = None) -> Delivery:
    headers = _headers_of(message)
    message_id = message.message_id or ""
    return Delivery(
        message_id=message_id,
        routing_key=str(headers.get("x-tollgate-routing-key") or message.routing_key or ""),
        body=message.body,
        headers=headers,
        attempt=int(headers.get(ATTEMPT_HEADER, "0") or 0),
        user_id=publisher_of(message.user_id, message_id, headers, message.body, marks),
    )


def copy_message(
    message: AbstractIncomingMessage, *, attempt: int, marks: PublisherMarks | None = None
) -> aio_pika.Message:
    """The same message for another trip through the broker, with its attempt count.

    The copy is published by our own login, so a broker-vouched `user_id` is
    carried as a publisher mark (`publisher_mark`); a mark already on the
    message travels as it is.
    """
    headers: dict[str, Any] = dict(message.headers or {})
    headers[ATTEMPT_HEADER] = attempt
    # The routing key changes on the way through retry queues; keep the event type.
    headers.setdefault("x-tollgate-routing-key", message.routing_key or "")
    if message.user_id and marks is not None and message.message_id:
        headers.update(marks.mark(message.message_id, message.user_id, message.body))
    return aio_pika.Message(
        message.body,
        headers=headers,
        message_id=message.message_id,
        content_type=message.content_type,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        type=message.type,
        app_id=message.app_id,
        timestamp=message.timestamp,
    )


class RabbitMQBus(Bus):
    def __init__(
        self,
        url: str,
        *,
        connection_name: str,
        prefetch: int = 100,
        delivery_limit: int = 10,
        retry_delays: tuple[float, ...] = (1, 10, 60),
        publisher_marks: PublisherMarks | None = None,
    ) -> None:
        super().__init__()
        # Keeps who published a message across retries (trusted queues check it).
        self.publisher_marks = publisher_marks
        self.url = url
        self.connection_name = connection_name
        self.prefetch = prefetch
        self.delivery_limit = delivery_limit
        self.retry_delays = retry_delays
        # Strong references: the robust connection restores only what is alive.
        self.connection: AbstractRobustConnection | None = None
        self.publish_channel: AbstractChannel | None = None
        self.consume_channel: AbstractChannel | None = None
        self.exchange: AbstractExchange | None = None
        self.queues: list[AbstractQueue] = []
        # Subscription queue → the declared queue and its consumer tag (None while paused).
        self.consuming: dict[str, tuple[AbstractQueue, str | None]] = {}
        self.outages = Outages(stop=self._stop_consuming, start=self._start_consuming, owner=connection_name)
        # Deliveries whose handler runs or whose settlement is under way; a shutdown waits for them.
        self.in_hand = 0
        self._settled = asyncio.Event()
        self._settled.set()
        self._draining = False

    async def start(self) -> None:
        self.connection = await aio_pika.connect_robust(
            self.url, client_properties={"connection_name": self.connection_name}
        )
        self.connection.reconnect_callbacks.add(self._on_reconnect)
        self.publish_channel = await self.connection.channel(publisher_confirms=True, on_return_raises=True)
        self.exchange = await declare_exchanges(self.publish_channel)
        for queue_name, keys in self.declared_queues.items():
            await self._declare_work_queue(self.publish_channel, queue_name, keys)
        if self.subscriptions:
            self.consume_channel = await self.connection.channel()
            await self.consume_channel.set_qos(prefetch_count=self.prefetch)
            for sub in self.subscriptions:
                await self._consume(sub)

    async def _consume(self, sub: Subscription) -> None:
        assert self.consume_channel is not None
        channel = self.consume_channel
        if sub.broadcast:
            queue = await channel.declare_queue(f"{sub.queue}.{self.connection_name}", exclusive=True, auto_delete=True)
        else:
            queue = await self._declare_work_queue(channel, sub.queue, ())
            for delay in self.retry_delays:
                await channel.declare_queue(
                    topology.retry_queue(sub.queue, delay),
                    durable=True,
                    arguments=topology.retry_queue_arguments(sub.queue, delay),
                )
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
        if tag is not None:
            await queue.cancel(tag)  # the robust queue forgets it first: a reconnect does not restore it

    async def _declare_work_queue(
        self, channel: AbstractChannel, name: str, routing_keys: tuple[str, ...]
    ) -> AbstractQueue:
        """A durable quorum queue with its dead-letter queue, bound to `routing_keys`."""
        queue = await channel.declare_queue(
            name, durable=True, arguments=topology.work_queue_arguments(name, self.delivery_limit)
        )
        await channel.declare_queue(
            topology.dead_letter_queue(name), durable=True, arguments=topology.DEAD_LETTER_QUEUE_ARGUMENTS
        )
        for key in routing_keys:
            await queue.bind(topology.EXCHANGE, routing_key=key)
        return queue

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
            if sub.broadcast:  # broadcast state is resynchronised by its owner
                await message.ack()
                handled(sub.queue, "dropped").inc()
                return
            self.outages.begin(outage, [s for s in self.subscriptions if _paused_with(s, sub, outage.dependency)])
            await self._give_back(sub, message, delivery.attempt)
            return
        except Exception:
            log.exception("handler of %s failed on %s (attempt %d)", sub.queue, delivery.message_id, delivery.attempt)
            await self._retry_or_park(sub, message, delivery.attempt)
            return
        await message.ack()
        handled(sub.queue, "ok").inc()

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

    async def publish(self, message: OutgoingMessage) -> None:
        # The frame properties straight away: building an aio_pika.Message for each
        # event (a validated attribute at a time) cost about as much as sending it.
        properties = aiormq.spec.Basic.Properties(
            message_id=message.message_id,
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT.value,
            headers=dict(message.headers),
            message_type=message.routing_key,
            app_id=self.connection_name,
            user_id=message.user_id,
        )
        await self._publish_raw(message.body, properties, routing_key=message.routing_key)

    async def _publish_raw(
        self,
        body: bytes,
        properties: aiormq.spec.Basic.Properties,
        *,
        routing_key: str,
        default_exchange: bool = False,
    ) -> None:
        """Publish with a confirm, `mandatory`: a message no queue takes comes back as an error."""
        if self.publish_channel is None or self.exchange is None:
            raise PublishFailed("the bus is not started")
        exchange = "" if default_exchange else self.exchange.name
        try:
            # aiormq's own channel: its abstract type does not declare `wait`.
            channel = cast(aiormq.Channel, await self.publish_channel.get_underlay_channel())
            publish = partial(
                channel.basic_publish,
                body,
                exchange=exchange,
                routing_key=routing_key,
                properties=properties,
                mandatory=True,
                timeout=PUBLISH_TIMEOUT_SECONDS,
                # Not waiting for the socket write while holding the channel's lock:
                # a batch of publishes then queues its frames in one go instead of
                # one event-loop pass each (under load the outbox relay fell seconds
                # behind). The broker's confirm is still awaited.
                wait=False,
            )
            try:
                await publish()
            except aiormq.exceptions.PublishError:
                if default_exchange:
                    raise
                # Returned as unroutable: someone removed the alternate exchange or
                # ops.unrouted. Declare them again rather than stall the outbox.
                log.warning("%s came back unroutable; declaring the exchanges again", routing_key)
                await declare_exchanges(self.publish_channel)
                await publish()
        except (TimeoutError, aio_pika.exceptions.AMQPError, ConnectionError, RuntimeError) as exc:
            raise PublishFailed(f"{routing_key}: {exc!r}") from exc

    def is_ready(self) -> bool:
        connection = self.connection
        return connection is not None and not connection.is_closed and connection.connected.is_set()

    @property
    def paused_for(self) -> frozenset[str]:
        return self.outages.dependencies

    async def message_counts(self, queues: Sequence[str]) -> dict[str, int]:
        """Passive declares on a plain channel of their own (metrics); a queue that does not exist is left out.

        Not aio-pika's robust channel: one the broker closed (404 for a missing
        queue) would reopen itself in the background and outlive this call.
        """
        transport = self.connection.transport if self.connection is not None and self.is_ready() else None
        if transport is None:
            return {}
        counts: dict[str, int] = {}
        channel = await transport.connection.channel()
        try:
            for name in queues:
                if channel.is_closed:
                    channel = await transport.connection.channel()
                try:
                    declared = await channel.queue_declare(name, passive=True)
                except aiormq.exceptions.ChannelNotFoundEntity:
                    continue
                counts[name] = declared.message_count or 0
        finally:
            if not channel.is_closed:
                await channel.close()
        return counts

    async def _on_reconnect(self, *_: object) -> None:
        for listener in self.reconnect_listeners:
            try:
                await listener()
            except Exception:
                log.exception("reconnect listener failed")

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
        if self.connection is not None:
            await self.connection.close()
        self.connection = None


def _paused_with(sub: Subscription, failed: Subscription, dependency: str) -> bool:
    """Whether `sub` pauses when `failed`'s handler found `dependency` away."""
    return not sub.broadcast and (sub is failed or sub.depends_on == dependency)


async def declare_exchanges(channel: AbstractChannel) -> AbstractExchange:
    """`tollgate.events`, with `tollgate.unrouted` → `ops.unrouted` as its alternate exchange, and
    `ops.events-archive` bound to the event types no service consumes by design (and to no others):
    RabbitMQ hands the alternate exchange only what no queue takes, so `ops.unrouted` gets only mistakes."""
    unrouted = await channel.declare_exchange(topology.UNROUTED_EXCHANGE, aio_pika.ExchangeType.FANOUT, durable=True)
    queue = await channel.declare_queue(
        topology.UNROUTED_QUEUE, durable=True, arguments=topology.UNROUTED_QUEUE_ARGUMENTS
    )
    await queue.bind(unrouted)
    exchange = await channel.declare_exchange(
        topology.EXCHANGE,
        aio_pika.ExchangeType.TOPIC,
        durable=True,
        arguments={"alternate-exchange": topology.UNROUTED_EXCHANGE},
    )
    archive = await channel.declare_queue(
        topology.ARCHIVE_QUEUE, durable=True, arguments=topology.ARCHIVE_QUEUE_ARGUMENTS
    )
    for event_type, spec in CATALOGUE.items():
        if spec.archived:
            await archive.bind(exchange, routing_key=event_type)
        else:  # a type that gained a consumer: no copy in the archive any more (unbinding nothing is fine)
            await archive.unbind(exchange, routing_key=event_type)
    return exchange
