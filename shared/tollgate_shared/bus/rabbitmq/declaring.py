"""Declaring the topology (`topology.py` names it): the exchanges, work queues and their retry tiers."""

from __future__ import annotations

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue

from tollgate_shared.bus import topology
from tollgate_shared.events.catalogue import CATALOGUE


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


async def declare_work_queue(
    channel: AbstractChannel, name: str, routing_keys: tuple[str, ...], *, delivery_limit: int
) -> AbstractQueue:
    """A durable quorum queue with its dead-letter queue, bound to `routing_keys`."""
    queue = await channel.declare_queue(
        name, durable=True, arguments=topology.work_queue_arguments(name, delivery_limit)
    )
    await channel.declare_queue(
        topology.dead_letter_queue(name), durable=True, arguments=topology.DEAD_LETTER_QUEUE_ARGUMENTS
    )
    for key in routing_keys:
        await queue.bind(topology.EXCHANGE, routing_key=key)
    return queue


async def declare_retry_queues(channel: AbstractChannel, name: str, delays: tuple[float, ...]) -> None:
    """The delay tiers of work queue `name`: each holds a message for its delay, then hands it back."""
    for delay in delays:
        await channel.declare_queue(
            topology.retry_queue(name, delay),
            durable=True,
            arguments=topology.retry_queue_arguments(name, delay),
        )
