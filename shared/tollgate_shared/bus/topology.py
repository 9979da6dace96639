"""Names and arguments of the RabbitMQ objects, in one place (DESIGN.md §3, §9)."""

from __future__ import annotations

from typing import Any

EXCHANGE = "tollgate.events"
UNROUTED_EXCHANGE = "tollgate.unrouted"
UNROUTED_QUEUE = "ops.unrouted"
UNROUTED_MAX_LENGTH = 100_000
# Events no service consumes by design (the catalogue's `archived`): the newest of them, for operators.
ARCHIVE_QUEUE = "ops.events-archive"
ARCHIVE_MAX_LENGTH = 10_000


def dead_letter_queue(queue: str) -> str:
    return f"{queue}.dlq"


def retry_queue(queue: str, delay_seconds: float) -> str:
    # The delay is in the name: a changed tier is a new queue, never a
    # PRECONDITION_FAILED on redeclaring an old one with other arguments.
    return f"{queue}.retry.{delay_seconds:g}s"


def work_queue_arguments(queue: str, delivery_limit: int) -> dict[str, Any]:
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": delivery_limit,
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": dead_letter_queue(queue),
        # At-least-once dead-lettering needs reject-publish, or RabbitMQ quietly
        # falls back to at-most-once.
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


def retry_queue_arguments(queue: str, delay_seconds: float) -> dict[str, Any]:
    """A delay tier: messages wait out the TTL, then dead-letter back to the work queue."""
    return {
        "x-queue-type": "quorum",
        "x-message-ttl": int(delay_seconds * 1000),
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": queue,
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


DEAD_LETTER_QUEUE_ARGUMENTS: dict[str, Any] = {"x-queue-type": "quorum"}
UNROUTED_QUEUE_ARGUMENTS: dict[str, Any] = {
    "x-queue-type": "quorum",
    "x-max-length": UNROUTED_MAX_LENGTH,
    "x-overflow": "drop-head",
}
ARCHIVE_QUEUE_ARGUMENTS: dict[str, Any] = {
    "x-queue-type": "quorum",
    "x-max-length": ARCHIVE_MAX_LENGTH,
    "x-overflow": "drop-head",
}
