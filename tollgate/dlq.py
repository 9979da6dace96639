"""`tollgate dlq list|replay`: operators see and replay dead-lettered messages."""

from __future__ import annotations

import asyncio
import os

from tollgate.services import all_queues
from tollgate_shared.bus.dead_letters import list_dead_letters, replay_dead_letters
from tollgate_shared.bus.publisher_mark import PublisherMarks
from tollgate_shared.settings import SettingsError


def _amqp_url() -> str:
    url = os.environ.get("TOLLGATE_AMQP_URL")
    if not url:
        raise SettingsError("TOLLGATE_AMQP_URL is not set: dead-letter queues live in RabbitMQ")
    return url


def _publisher_marks() -> PublisherMarks | None:
    """The services' key, so replayed finance decisions keep the proof of their publisher."""
    key = os.environ.get("TOLLGATE_INTERNAL_KEY")
    return PublisherMarks(key.encode()) if key else None


def dlq_list(queue: str | None) -> int:
    letters = asyncio.run(list_dead_letters(_amqp_url(), [queue] if queue else all_queues()))
    if not letters:
        print("no dead-lettered messages")
        return 0
    print(f"{'queue':<28} {'message id':<38} {'event type':<36} reason")
    for letter in letters:
        print(f"{letter.queue:<28} {letter.message_id:<38} {letter.event_type:<36} {letter.reason}")
    return 0


def dlq_replay(queue: str | None, message_id: str | None) -> int:
    queues = [queue] if queue else all_queues()
    count = asyncio.run(replay_dead_letters(_amqp_url(), queues, message_id=message_id, marks=_publisher_marks()))
    print(f"replayed {count} message(s)")
    return 0
