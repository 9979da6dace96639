"""Operators' view of the dead-letter queues: list and replay (`tollgate dlq`)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractChannel

from tollgate_shared.bus import topology
from tollgate_shared.bus.publisher_mark import PublisherMarks
from tollgate_shared.bus.rabbitmq.messages import copy_message, to_delivery


@dataclass(frozen=True)
class DeadLetter:
    queue: str
    message_id: str
    event_type: str
    attempt: int
    reason: str


def _reason(headers: dict[str, object]) -> str:
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict):
        return str(deaths[0].get("reason", ""))
    return str(headers.get("x-first-death-reason", ""))


async def _declared(channel: AbstractChannel, name: str) -> bool:
    try:
        await channel.declare_queue(name, passive=True)
    except aio_pika.exceptions.ChannelClosed:
        return False
    return True


async def list_dead_letters(url: str, queues: list[str], *, limit: int = 100) -> list[DeadLetter]:
    """Peek at up to `limit` parked messages of each work queue; nothing is removed."""
    found: list[DeadLetter] = []
    async with await aio_pika.connect(url) as connection:
        for queue_name in queues:
            channel = await connection.channel()
            if not await _declared(channel, topology.dead_letter_queue(queue_name)):
                continue
            queue = await channel.get_queue(topology.dead_letter_queue(queue_name))
            for _ in range(limit):
                message = await queue.get(no_ack=False, fail=False)
                if message is None:
                    break
                delivery = to_delivery(message)
                try:
                    event_type = str(json.loads(message.body).get("type", ""))
                except (ValueError, AttributeError):
                    event_type = "(not JSON)"
                found.append(
                    DeadLetter(
                        queue_name,
                        delivery.message_id,
                        event_type,
                        delivery.attempt,
                        _reason(dict(message.headers or {})),
                    )
                )
            # Closing the channel without acking puts every peeked message back.
            await channel.close()
    return found


async def replay_dead_letters(
    url: str, queues: list[str], *, message_id: str | None = None, marks: PublisherMarks | None = None
) -> int:
    """Move parked messages back to their work queue (all, or the one with `message_id`).

    With `marks` (the services' internal key), a message whose publisher the
    broker vouched for keeps that proof on its way back (`publisher_mark`).
    """
    replayed = 0
    async with await aio_pika.connect(url) as connection:
        for queue_name in queues:
            channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
            if not await _declared(channel, topology.dead_letter_queue(queue_name)):
                continue
            queue = await channel.get_queue(topology.dead_letter_queue(queue_name))
            skipped = []
            while (message := await queue.get(no_ack=False, fail=False)) is not None:
                if message_id is not None and message.message_id != message_id:
                    skipped.append(message)
                    continue
                # Fresh attempts: the operator fixed the cause or wants one more try.
                await channel.default_exchange.publish(
                    copy_message(message, attempt=0, marks=marks), routing_key=queue_name, mandatory=True
                )
                await message.ack()
                replayed += 1
            for message in skipped:
                await message.nack(requeue=True)
            await channel.close()
    return replayed
