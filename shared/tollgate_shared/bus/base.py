"""The bus interface both adapters implement, and the values that cross it."""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

ATTEMPT_HEADER = "x-tollgate-attempt"


class PublishFailed(Exception):
    """The broker did not confirm a message; the outbox keeps it for later."""


class PoisonMessage(Exception):
    """A message no retry can fix (not JSON, not the contract): park it at once."""


class DependencyUnavailable(Exception):
    """The handler could not run because `dependency` (its database) is away for now, not because of the message.

    The bus counts no attempt and parks nothing: it gives the message back and
    stops consuming the subscriptions that depend on `dependency` until
    `answers()` is true again (DESIGN §10).
    """

    def __init__(self, dependency: str, answers: Callable[[], Awaitable[bool]]) -> None:
        super().__init__(f"{dependency} unavailable")
        self.dependency = dependency
        self.answers = answers


@dataclass(frozen=True)
class OutgoingMessage:
    message_id: str
    routing_key: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    # Set only by publishers whose broker login must be proven (finance decisions).
    user_id: str | None = None


@dataclass(frozen=True)
class Delivery:
    message_id: str
    routing_key: str
    body: bytes
    headers: Mapping[str, str]
    attempt: int = 0
    user_id: str | None = None


Handler = Callable[[Delivery], Awaitable[None]]


@dataclass(frozen=True)
class Subscription:
    """A queue named `<service>.<purpose>`, the routing keys bound to it, and its handler.

    `broadcast` subscriptions get a queue of this instance's own (every instance
    sees every message; nothing survives a disconnect) instead of a shared,
    durable queue whose messages the replicas compete for. `depends_on` names
    what the handler cannot work without (its service's database): while one
    handler reports it unavailable, every subscription depending on it pauses.
    """

    queue: str
    routing_keys: tuple[str, ...]
    handler: Handler
    broadcast: bool = False
    depends_on: str | None = None


class Bus(abc.ABC):
    """Publish with confirmation; consume with ack after the handler succeeded."""

    # True when `publish` returns only after every consumer handled the message
    # (the in-process bus): a publish may then take as long as the handlers and
    # their retries, so the outbox relay holds no database locks around it.
    delivers_inline: bool = False

    def __init__(self) -> None:
        self.subscriptions: list[Subscription] = []
        self.reconnect_listeners: list[Callable[[], Awaitable[None]]] = []
        # Durable queues this service fills for someone else, declared so nothing is lost
        # before their consumer first connects: queue → routing keys.
        self.declared_queues: dict[str, tuple[str, ...]] = {}

    def declare(self, queue: str, routing_keys: tuple[str, ...]) -> None:
        """Keep `routing_keys` in the durable queue `queue` for another consumer (before `start()`)."""
        self.declared_queues[queue] = routing_keys

    def subscribe(self, subscription: Subscription) -> None:
        """Register before `start()`; the adapter declares and consumes the queue."""
        self.subscriptions.append(subscription)

    def on_reconnect(self, listener: Callable[[], Awaitable[None]]) -> None:
        """Call `listener` after the bus reconnected (broadcast messages may be lost)."""
        self.reconnect_listeners.append(listener)

    @abc.abstractmethod
    async def start(self) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def publish(self, message: OutgoingMessage) -> None:
        """Return once the message is safely routed; raise `PublishFailed` otherwise."""

    @abc.abstractmethod
    def is_ready(self) -> bool: ...

    async def stop_consuming(self, within: float) -> int:
        """Take no more deliveries and wait up to `within` seconds for the messages in hand to be settled.

        Answers how many were still unsettled then (what a shutdown leaves to the broker
        to redeliver). The in-process bus has nothing in hand between publishes.
        """
        return 0

    @property
    def paused_for(self) -> frozenset[str]:
        """The dependencies whose outage keeps this bus's consumers paused (none by default)."""
        return frozenset()

    async def message_counts(self, queues: Sequence[str]) -> dict[str, int]:
        """How many messages wait in each of `queues` that exists (metrics; none by default)."""
        return {}


def _match_words(pattern: tuple[str, ...], words: tuple[str, ...]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_match_words(rest, words[i:]) for i in range(len(words) + 1))
    if not words:
        return False
    return (head in ("*", words[0])) and _match_words(rest, words[1:])


@lru_cache(maxsize=4096)
def topic_matches(pattern: str, routing_key: str) -> bool:
    """AMQP topic matching: `*` is one word, `#` is zero or more."""
    return _match_words(tuple(pattern.split(".")), tuple(routing_key.split(".")))
