"""The connection to RabbitMQ and publishing on it with confirms (`RabbitMQBus` adds consuming)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial
from typing import cast

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection

from tollgate_shared.bus.base import Bus, OutgoingMessage, PublishFailed
from tollgate_shared.bus.rabbitmq.declaring import declare_exchanges

log = logging.getLogger(__name__)
PUBLISH_TIMEOUT_SECONDS = 10.0
# Frames a connection queues for its socket writer (aiormq's default is 10). A
# publisher that finds the queue full waits for the writer, one event-loop pass
# per ten messages, and under load the outbox fell behind (docs/decisions.md, Common library). A batch now
# queues in one pass; the broker's confirms still pace the relay. aiormq reads this
# class attribute when it opens a connection, reconnections included.
FRAME_QUEUE_SIZE = 2048
aiormq.Connection.FRAME_BUFFER_SIZE = FRAME_QUEUE_SIZE


class RabbitMQPublisher(Bus):
    """A robust connection, its exchanges declared, and a confirm channel to publish on."""

    def __init__(self, url: str, *, connection_name: str) -> None:
        super().__init__()
        self.url = url
        self.connection_name = connection_name
        # Strong references: the robust connection restores only what is alive.
        self.connection: AbstractRobustConnection | None = None
        self.publish_channel: AbstractChannel | None = None
        self.exchange: AbstractExchange | None = None

    async def _connect(self) -> AbstractRobustConnection:
        """Connect, open the confirm channel and declare the exchanges; the connection."""
        connection = await aio_pika.connect_robust(
            self.url, client_properties={"connection_name": self.connection_name}
        )
        self.connection = connection
        connection.reconnect_callbacks.add(self._on_reconnect)
        self.publish_channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        self.exchange = await declare_exchanges(self.publish_channel)
        return connection

    async def publish(self, message: OutgoingMessage) -> None:
        # The frame properties straight away: building an aio_pika.Message for each
        # event (a validated attribute at a time) cost about as much as sending it (docs/decisions.md, Common library).
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

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()
        self.connection = None
