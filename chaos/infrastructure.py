"""The run's own PostgreSQL cluster and RabbitMQ node (never the machine's shared ones), the finance
service's broker login, and the link billing's processes reach PostgreSQL through (the harness cuts it)."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from urllib.parse import quote

from tollgate.throwaway import TcpProxy, ThrowawayPostgres, ThrowawayRabbitMQ

FINANCE_USER = "finance"


@dataclass
class Infrastructure:
    postgres: ThrowawayPostgres
    rabbitmq: ThrowawayRabbitMQ
    billing_link: TcpProxy
    finance_password: str

    def database_url(self, service: str) -> str:
        """`tollgate_<service>` on the cluster, directly (what the checks read)."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.postgres.port}/tollgate_{service}"

    def service_database_url(self, service: str) -> str:
        """What the service's processes connect to: billing's go through the cuttable link."""
        if service == "billing":
            return f"postgresql+asyncpg://postgres@127.0.0.1:{self.billing_link.port}/tollgate_billing"
        return self.database_url(service)

    @property
    def amqp_url(self) -> str:
        return self.rabbitmq.url

    @property
    def finance_amqp_url(self) -> str:
        return f"amqp://{FINANCE_USER}:{quote(self.finance_password, safe='')}@127.0.0.1:{self.rabbitmq.port}/"

    async def destroy(self) -> None:
        await self.billing_link.cut()
        await asyncio.gather(
            asyncio.to_thread(self.rabbitmq.destroy), asyncio.to_thread(self.postgres.destroy), return_exceptions=True
        )


async def start_infrastructure() -> Infrastructure:
    """Both servers started at once; back once PostgreSQL answers, while the broker may still be booting
    (it takes seconds: `broker_ready` waits for it and sets the finance login up as the README does)."""
    rabbitmq = await asyncio.to_thread(ThrowawayRabbitMQ.create)
    try:
        postgres = await asyncio.to_thread(ThrowawayPostgres.create)
    except BaseException:
        await asyncio.to_thread(rabbitmq.destroy)
        raise
    try:
        link = TcpProxy("127.0.0.1", postgres.port)
        await link.start()
    except BaseException:
        await asyncio.gather(asyncio.to_thread(rabbitmq.destroy), asyncio.to_thread(postgres.destroy))
        raise
    # Hex: a password starting with "-" would be read by rabbitmqctl as an option (exit 64).
    return Infrastructure(postgres, rabbitmq, link, secrets.token_hex(16))


async def broker_ready(infra: Infrastructure) -> None:
    """Until the broker answers; then the finance service's login."""
    await asyncio.to_thread(infra.rabbitmq.wait_ready)
    await asyncio.to_thread(add_finance_user, infra.rabbitmq, infra.finance_password)


def add_finance_user(rabbitmq: ThrowawayRabbitMQ, password: str) -> None:
    """The production permissions of the README: no configure, write on the exchange (finance.* keys only),
    read on its queue."""
    rabbitmq.ctl("add_user", FINANCE_USER, password)
    rabbitmq.ctl(
        "set_permissions", "-p", "/", FINANCE_USER, "^$", r"^tollgate\.events$", r"^finance\.offline-payments$"
    )
    rabbitmq.ctl("set_topic_permissions", "-p", "/", FINANCE_USER, "tollgate.events", r"^finance\.", "^$")
