"""The real PostgreSQL and RabbitMQ the integration tests run against.

Order of preference: `TOLLGATE_TEST_DATABASE_URL` / `TOLLGATE_TEST_AMQP_URL`;
else the localhost defaults; else throwaway instances started from locally
installed binaries (`initdb`/`pg_ctl`, `rabbitmq-server`); else the tests fail
with a message saying what to install. Never a silent skip.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

from tollgate.throwaway import (
    HOW_TO_INSTALL,
    InfrastructureMissing,
    ThrowawayPostgres,
    ThrowawayRabbitMQ,
    free_port,
    postgres_answers,
    rabbitmq_answers,
)

__all__ = ["HOW_TO_INSTALL", "Infrastructure", "InfrastructureMissing", "free_port", "infrastructure"]

DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


@dataclass
class Infrastructure:
    database_url: str
    amqp_url: str
    throwaway: list[ThrowawayPostgres | ThrowawayRabbitMQ] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def stop(self) -> None:
        """Stop what was started here and delete its data; what was found running stays as it was."""
        for started in self.throwaway:
            started.destroy()


def provide_infrastructure() -> Infrastructure:
    """Find or start PostgreSQL and RabbitMQ; raise `InfrastructureMissing` with advice otherwise."""
    database_url = os.environ.get("TOLLGATE_TEST_DATABASE_URL", DEFAULT_DATABASE_URL)
    amqp_url = os.environ.get("TOLLGATE_TEST_AMQP_URL", DEFAULT_AMQP_URL)
    infra = Infrastructure(database_url, amqp_url)
    if not asyncio.run(postgres_answers(database_url)):
        cluster = ThrowawayPostgres.create()
        infra.database_url = cluster.url
        infra.throwaway.append(cluster)
        infra.notes.append(f"started a throwaway PostgreSQL at {infra.database_url}")
    if not asyncio.run(rabbitmq_answers(amqp_url)):
        node = ThrowawayRabbitMQ.create()
        infra.amqp_url = node.url
        infra.throwaway.append(node)
        try:
            node.wait_ready()
        except InfrastructureMissing:
            infra.stop()
            raise
        infra.notes.append(f"started a throwaway RabbitMQ at {infra.amqp_url}")
    return infra


@contextlib.contextmanager
def infrastructure() -> Iterator[Infrastructure]:
    infra = provide_infrastructure()
    try:
        yield infra
    finally:
        infra.stop()
