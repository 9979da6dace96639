"""Incoming AMQP messages as the bus's `Delivery`, and their copies for another trip through the broker."""

from __future__ import annotations

from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from tollgate_shared.bus.base import ATTEMPT_HEADER, Delivery
from tollgate_shared.bus.publisher_mark import PublisherMarks, publisher_of

# The event type, kept while the routing key changes on the way through retry queues.
ROUTING_KEY_HEADER = "x-tollgate-routing-key"


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
        routing_key=str(headers.get(ROUTING_KEY_HEADER) or message.routing_key or ""),
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
    headers.setdefault(ROUTING_KEY_HEADER, message.routing_key or "")
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
