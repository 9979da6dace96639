"""Throwaway databases and queues for one run, and what the machine is."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Sequence
from urllib.parse import unquote, urlsplit

from sqlalchemy import MetaData

from bench.common import admin_execute, database_url
from tollgate_shared.bus.base import topic_matches
from tollgate_shared.bus.topology import EXCHANGE, dead_letter_queue, retry_queue
from tollgate_shared.db import create_engine


async def create_database(admin_url: str, name: str, metadata: MetaData) -> str:
    """Create database `name` with `metadata`'s tables; answer its URL."""
    if not name.startswith("bench_"):
        raise ValueError(f"bench databases are named bench_*, not {name}")
    await admin_execute(admin_url, f'CREATE DATABASE "{name}"')
    url = database_url(admin_url, name)
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
    finally:
        await engine.dispose()
    return url


async def drop_database(admin_url: str, name: str) -> None:
    if not name.startswith("bench_"):
        raise ValueError(f"refusing to drop {name}: not a bench database")
    await admin_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def new_run_id() -> str:
    return uuid.uuid4().hex[:10]


def queues_of(queue: str, retry_delays: Sequence[float]) -> list[str]:
    """The work queue the bus declares for `queue`, its dead-letter queue and its delay tiers."""
    return [queue, dead_letter_queue(queue), *(retry_queue(queue, d) for d in retry_delays)]


def vhost_of(amqp_url: str) -> str:
    """The virtual host an AMQP URL names (`/` when it names none)."""
    path = urlsplit(amqp_url).path
    return unquote(path[1:]) if len(path) > 1 else "/"


async def other_bindings(amqp_url: str, routing_key: str, own_queue: str) -> list[str] | None:
    """Queues other than `own_queue` bound to `routing_key` on the events exchange; None when unknown.

    Asks `rabbitmqctl` about the URL's virtual host (the management plugin may
    be off); None when it is not installed or cannot reach the node.
    """
    rabbitmqctl = shutil.which("rabbitmqctl")
    if rabbitmqctl is None:
        return None
    process = await asyncio.create_subprocess_exec(
        rabbitmqctl,
        "list_bindings",
        "-p",
        vhost_of(amqp_url),
        "-q",
        "--no-table-headers",
        "source_name",
        "destination_name",
        "routing_key",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        stdout, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    except TimeoutError:
        process.kill()
        await process.wait()
        return None
    if process.returncode != 0:
        return None
    found = []
    for line in stdout.decode().splitlines():
        parts = line.split("\t")
        if len(parts) != 3:
            continue
        source, destination, pattern = parts
        if source == EXCHANGE and destination != own_queue and topic_matches(pattern, routing_key):
            found.append(f"{destination} ({pattern})")
    return found
