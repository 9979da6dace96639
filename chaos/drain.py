"""After the load: what is still on its way (outbox rows, queued messages, undecided top-ups), and waiting
until nothing is."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import aio_pika
import asyncpg

from chaos.processes import System
from tollgate.services import BACKEND_SERVICES, all_queues
from tollgate.throwaway import asyncpg_dsn


async def rows(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(asyncpg_dsn(url), timeout=10)
    try:
        return list(await connection.fetch(sql, *args))
    finally:
        await connection.close()


async def unsent_outbox(system: System) -> dict[str, int]:
    counts = {}
    for service in BACKEND_SERVICES:
        found = await rows(system.infra.database_url(service), "SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL")
        counts[service] = int(found[0]["n"])
    return counts


async def queue_depths(amqp_url: str, queues: Sequence[str]) -> dict[str, int]:
    """Messages waiting in each queue that exists (ready and unacknowledged both count)."""
    depths = {}
    async with await aio_pika.connect(amqp_url, timeout=10) as connection:
        for name in queues:
            channel = await connection.channel()
            try:
                queue = await channel.declare_queue(name, passive=True)
            except aio_pika.exceptions.ChannelClosed:
                continue
            depths[name] = queue.declaration_result.message_count or 0
            await channel.close()
    return depths


async def pending_offline(system: System) -> int:
    found = await rows(
        system.infra.database_url("billing"),
        "SELECT count(*) AS n FROM offline_payment WHERE status = 'pending_approval'",
    )
    return int(found[0]["n"])


async def drain(system: System, within: float) -> float:
    """Wait until every outbox row is sent, every work queue is empty and finance decided every transfer;
    answer the seconds it took (or `within` when it never did: the checks then say what is left)."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        try:
            outbox = await unsent_outbox(system)
            depths = await queue_depths(system.infra.amqp_url, all_queues())
            if not any(outbox.values()) and not any(depths.values()) and not await pending_offline(system):
                return time.monotonic() - started
        except (OSError, asyncpg.PostgresError, aio_pika.exceptions.AMQPError):
            pass
        await asyncio.sleep(1)
    return within
