"""What each broker login may do, derived from what its process declares, binds, publishes and consumes.

RabbitMQ grants a login three regular expressions per virtual host (configure,
write, read; every object name is held against them) and, per topic exchange,
two more on routing keys (write: publishing; read: binding). `grant_for` turns a
process's `BusFootprint` into exactly the grant its bus code needs, from what
RabbitMQ checks for each operation (docs/operations.md, "Broker users"):

- `exchange.declare`: configure on the exchange; with an alternate exchange,
  also read on the exchange and write on the alternate one.
- `queue.declare`: configure on the queue; with a dead-letter exchange (every
  work queue and retry tier dead-letters through the default exchange), also
  read on the queue and write on `amq.default`. Passive declares need nothing.
- `queue.bind`/`queue.unbind`: write on the queue, read on the exchange, and the
  topic permission's read on the binding key.
- `basic.publish`: write on the exchange (`amq.default` for the default one),
  and the topic permission's write on the routing key.
- `basic.consume`/`basic.get`: read on the queue.

Every service declares the shared objects itself at each start (`declaring.py`),
so a fresh broker needs no provisioning beyond the logins; the decision and what
it costs are in docs/decisions.md ("Broker users").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from tollgate_shared.bus import topology

# RabbitMQ's name for the default exchange ("") in permission checks.
DEFAULT_EXCHANGE = "amq.default"
# Matches no name at all (RabbitMQ treats "" alike; this one reads as intended).
NOTHING = "^$"
# What each routing or binding key may be on `tollgate.events`, when not limited.
ANY_KEY = ".*"
# `retry_queue` writes the delay with `:g`: "1s", "0.5s", "1e+03s".
RETRY_TIER_SUFFIX = r"\.retry\.[0-9.e+-]+s"
# A broadcast queue is `<queue>.<connection name>`; the connection name is the instance's.
BROADCAST_SUFFIX = r"\..+"
# The objects `declare_exchanges` declares and binds in every process.
SHARED_EXCHANGES = (topology.EXCHANGE, topology.UNROUTED_EXCHANGE)
SHARED_QUEUES = (topology.UNROUTED_QUEUE, topology.ARCHIVE_QUEUE)


@dataclass(frozen=True)
class BusFootprint:
    """What one kind of process does on the broker, as its code does it.

    `consumes`: durable work queues it consumes, with retry tiers and a dead-letter
    queue each; `fills`: durable queues it declares for another consumer (with their
    dead-letter queue); `broadcasts`: queues of its own per instance
    (`<queue>.<connection name>`); `consumes_passively`: queues it consumes that another
    process declares; `publishes`: the event-type prefix of what it publishes on
    `tollgate.events` (None: it publishes nothing there);
    `declares_topology`: whether it declares the exchanges and ops queues;
    `parked`: work queues whose dead letters it reads and moves back (`tollgate dlq`).
    """

    consumes: tuple[str, ...] = ()
    fills: tuple[str, ...] = ()
    broadcasts: tuple[str, ...] = ()
    consumes_passively: tuple[str, ...] = ()
    publishes: str | None = None
    declares_topology: bool = True
    parked: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class TopicGrant:
    exchange: str
    write: str
    read: str


@dataclass(frozen=True)
class BrokerGrant:
    """A login's permissions in the vhost, its topic permission on `tollgate.events` and its tags."""

    configure: str
    write: str
    read: str
    topic: TopicGrant | None
    tags: tuple[str, ...] = ()


def grant_for(footprint: BusFootprint) -> BrokerGrant:
    """The least a process with this footprint needs, and nothing more."""
    configure: list[str] = []
    write: list[str] = []
    read: list[str] = []
    if footprint.declares_topology:
        configure += [*map(literal, SHARED_EXCHANGES), *map(literal, SHARED_QUEUES)]
        # The alternate exchange is written to (a declare names it); the ops queues are bound.
        write += [literal(topology.UNROUTED_EXCHANGE), *map(literal, SHARED_QUEUES)]
        # Read on the exchanges: each is the source of a binding, and the main one names an alternate.
        read += [*map(literal, SHARED_EXCHANGES)]
    elif footprint.consumes or footprint.fills or footprint.broadcasts:
        raise ValueError("a process that declares queues declares the exchanges they bind to")
    for queue in footprint.consumes:
        configure += [literal(queue), literal(topology.dead_letter_queue(queue)), literal(queue) + RETRY_TIER_SUFFIX]
        write.append(literal(queue))
        read += [literal(queue), literal(queue) + RETRY_TIER_SUFFIX]
    for queue in footprint.fills:
        configure += [literal(queue), literal(topology.dead_letter_queue(queue))]
        write.append(literal(queue))
        read.append(literal(queue))  # RabbitMQ asks it of any queue declared with a dead-letter exchange
    for queue in footprint.broadcasts:
        configure.append(literal(queue) + BROADCAST_SUFFIX)
        write.append(literal(queue) + BROADCAST_SUFFIX)
        read.append(literal(queue) + BROADCAST_SUFFIX)
    if footprint.consumes or footprint.fills or footprint.parked:
        # Dead-lettering names the default exchange; retries, give-backs and replays publish through it.
        write.append(literal(DEFAULT_EXCHANGE))
    read += [literal(queue) for queue in footprint.consumes_passively]
    read += [literal(topology.dead_letter_queue(queue)) for queue in footprint.parked]
    if footprint.publishes is not None:
        write.append(literal(topology.EXCHANGE))
    topic = None
    if footprint.declares_topology or footprint.publishes is not None:
        topic = TopicGrant(
            topology.EXCHANGE,
            write=NOTHING if footprint.publishes is None else f"^{literal(footprint.publishes)}\\.",
            # A process that declares the exchanges binds the archive to every event type (and unbinds it),
            # so its binding keys are not limited; one that only publishes binds nothing.
            read=ANY_KEY if footprint.declares_topology else NOTHING,
        )
    return BrokerGrant(
        configure=any_of(configure), write=any_of(write), read=any_of(read), topic=topic, tags=footprint.tags
    )


def grants(footprints: dict[str, BusFootprint]) -> dict[str, BrokerGrant]:
    return {role: grant_for(footprint) for role, footprint in footprints.items()}


def literal(name: str) -> str:
    """`name` as a regular expression matching itself (queue and exchange names: letters, digits, `.-_`)."""
    if not re.fullmatch(r"[A-Za-z0-9._-]+", name):
        raise ValueError(f"{name!r} is not a plain object name")
    return name.replace(".", r"\.")


def any_of(patterns: Iterable[str]) -> str:
    """One anchored expression matching exactly the names the patterns match; `NOTHING` for none."""
    unique = list(dict.fromkeys(patterns))
    return f"^({'|'.join(unique)})$" if unique else NOTHING
