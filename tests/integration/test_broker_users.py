"""Every process works on a fresh vhost as its own least-privilege login, and each login is refused the rest.

The logins come from the definitions Compose loads (`tollgate.broker_users.definitions`,
the permission table); the services, the finance approval service and `tollgate dlq`
run their real code with them: declaring the topology, publishing, consuming,
retrying through a delay tier, dead-lettering and replaying. The refusals are written
out here by hand, independently of the table, so widening a grant fails them and
narrowing one fails the services.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aio_pika
import aiormq
import httpx
import pytest
from aio_pika.abc import AbstractChannel

from tests.support.auth_client import AuthClient
from tests.support.billing import balance, submit
from tests.support.broker_logins import BrokerLogins, create_logins, delete_logins
from tests.support.events import ACCOUNT_QUEUE, account_created_event, queue_counts
from tests.support.harness import stop_processes, wait_for
from tests.support.infrastructure import Infrastructure
from tollgate_shared.bus import Delivery, OutgoingMessage, Subscription, topology
from tollgate_shared.bus.dead_letters import list_dead_letters, replay_dead_letters
from tollgate_shared.bus.rabbitmq import RabbitMQBus

pytestmark = pytest.mark.integration

SERVICES = ("auth", "billing", "invoicing")
RULES = """
decided_by = "finance-rules"
currency = "INR"

[auto_approve]
neft = "10000.00"
"""


@pytest.fixture(scope="module")
def logins(infra: Infrastructure) -> Iterator[BrokerLogins]:
    """The logins on a fresh vhost, whose exchanges auth's bus has declared (as it does at every start):
    RabbitMQ looks an exchange up before it checks a topic permission on it."""
    made = create_logins(infra)
    asyncio.run(_start_and_close(RabbitMQBus(made.urls["auth"], connection_name="auth-logins-topology")))
    yield made
    delete_logins(infra, made)


async def _start_and_close(bus: RabbitMQBus) -> None:
    await bus.start()
    await bus.close()


@pytest.fixture
def finance_service(logins: BrokerLogins, tmp_path: Path) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """`python -m finance_approval run` as the finance login (a process, as operators run it)."""
    (tmp_path / "rules.toml").write_text(RULES)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLGATE_")}
    env.update(
        TOLLGATE_FINANCE_AMQP_URL=logins.urls["finance"],
        TOLLGATE_FINANCE_RULES=str(tmp_path / "rules.toml"),
        TOLLGATE_FINANCE_HELD_FILE=str(tmp_path / "held.sqlite3"),
    )
    running: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        log = (tmp_path / "finance.log").open("wb")
        process = subprocess.Popen([sys.executable, "-m", "finance_approval", "run"], env=env, stderr=log)
        running.append(process)
        return process

    yield start
    stop_processes(running, signal.SIGTERM)


async def test_the_services_and_the_finance_service_work_each_as_its_own_login_on_a_fresh_vhost(
    start_system: Any, logins: BrokerLogins, finance_service: Callable[[], subprocess.Popen[bytes]]
) -> None:
    system = await start_system(
        services=SERVICES,
        amqp_urls={name: logins.urls[name] for name in SERVICES},
        gateway_settings={"amqp_url": logins.urls["gateway"]},
        billing_settings={"finance_broker_user": logins.logins["finance"]},
    )
    # A refused declare or bind keeps a bus retrying its start for ever: each must have started.
    for name in SERVICES:
        await asyncio.wait_for(system.apps[name].state.runtime.bus_started.wait(), timeout=30)
    await asyncio.wait_for(system.apps["gateway"].gateway.bus_started.wait(), timeout=30)

    finance = finance_service()
    async with httpx.AsyncClient(base_url=system.gateway, timeout=30) as http:
        client = AuthClient(http)
        admin = await client.sign_up()  # auth publishes; billing opens the wallet
        answer = await submit(client, admin, reference="UTR-LOGINS-1", amount="2500.00")
        assert answer.status_code == 202, answer.text

        # billing publishes the submission into finance's queue; finance decides and publishes as its login;
        # billing trusts the decision for that login and credits; invoicing issues the receipt.
        async def credited() -> bool:
            return (await balance(client, admin))["balance"] == "2500.00"

        await wait_for(credited, timeout=30)

        async def receipt_issued() -> bool:
            listed = await client.call("GET", "/api/invoices?kind=receipt", admin)
            return listed.status_code == 200 and listed.json()["total"] == 1

        await wait_for(receipt_issued, timeout=30)
    assert finance.poll() is None, "the finance service stopped"


async def test_a_failing_message_is_retried_parked_and_replayed_under_the_logins(logins: BrokerLogins) -> None:
    failures: list[str] = []

    async def always_fails(delivery: Delivery) -> None:
        failures.append(delivery.message_id)
        raise RuntimeError("induced failure")

    billing = RabbitMQBus(logins.urls["billing"], connection_name="billing-logins-test", retry_delays=(0.2,))
    billing.subscribe(Subscription(ACCOUNT_QUEUE, ("auth.account.created",), always_fails))
    auth = RabbitMQBus(logins.urls["auth"], connection_name="auth-logins-test")  # what auth builds: it only publishes
    await billing.start()
    await auth.start()
    try:
        event = account_created_event()
        await auth.publish(OutgoingMessage(event.id, event.type, event.to_json()))
        parked = topology.dead_letter_queue(ACCOUNT_QUEUE)

        async def dead_lettered() -> bool:
            return (await queue_counts(logins.urls["operator"], parked))[0] == 1

        await wait_for(dead_lettered, timeout=20)
        assert failures == [event.id, event.id], "the first attempt and the one from the retry tier"

        # `tollgate dlq list` and `replay`, as the operator login.
        [letter] = await list_dead_letters(logins.urls["operator"], [ACCOUNT_QUEUE])
        assert (letter.message_id, letter.event_type) == (event.id, "auth.account.created")
        assert await replay_dead_letters(logins.urls["operator"], [ACCOUNT_QUEUE]) == 1

        async def tried_again() -> bool:
            return len(failures) >= 3

        await wait_for(tried_again, timeout=20)
    finally:
        await auth.close()
        await billing.close()


Operation = Callable[[AbstractChannel], Awaitable[Any]]


def publish(routing_key: str, exchange: str = topology.EXCHANGE) -> Operation:
    async def run(channel: AbstractChannel) -> None:
        target = channel.default_exchange if exchange == "" else await channel.get_exchange(exchange, ensure=False)
        await target.publish(aio_pika.Message(b"{}"), routing_key=routing_key)

    return run


def declare(queue: str) -> Operation:
    async def run(channel: AbstractChannel) -> None:
        await channel.declare_queue(queue, durable=True, arguments={"x-queue-type": "quorum"})

    return run


def take_from(queue: str) -> Operation:
    async def run(channel: AbstractChannel) -> None:
        await (await channel.get_queue(queue, ensure=False)).get(fail=False)

    return run


def bind(queue: str, routing_key: str) -> Operation:
    async def run(channel: AbstractChannel) -> None:
        await (await channel.get_queue(queue, ensure=False)).bind(topology.EXCHANGE, routing_key=routing_key)

    return run


# (login, what it tries): each is refused. Written out, not read from the table.
REFUSED: list[tuple[str, str, Operation]] = [
    ("finance", "publish a billing event", publish("billing.offline_payment.approved")),
    ("finance", "publish an auth event", publish("auth.account.created")),
    ("finance", "put a decision straight into billing's queue", publish("billing.finance-decisions", exchange="")),
    ("finance", "read billing's queue", take_from("billing.finance-decisions")),
    ("finance", "read its queue's dead letters", take_from("finance.offline-payments.dlq")),
    ("finance", "declare its own queue", declare("finance.offline-payments")),
    ("finance", "declare another queue", declare("finance.elsewhere")),
    ("finance", "bind its queue to more events", bind("finance.offline-payments", "billing.order.placed")),
    ("auth", "publish a billing event", publish("billing.order.paid")),
    ("auth", "publish a finance decision", publish("finance.offline_payment.decided")),
    ("auth", "publish through the default exchange", publish(ACCOUNT_QUEUE, exchange="")),
    ("auth", "read billing's queue", take_from(ACCOUNT_QUEUE)),
    ("auth", "declare a queue of billing's", declare(ACCOUNT_QUEUE)),
    ("billing", "publish a finance decision", publish("finance.offline_payment.decided")),
    ("billing", "publish an invoicing event", publish("invoicing.invoice.issued")),
    ("billing", "read invoicing's queue", take_from("invoicing.billing-events")),
    ("billing", "read the archive", take_from(topology.ARCHIVE_QUEUE)),
    ("billing", "declare a queue of invoicing's", declare("invoicing.billing-events")),
    ("billing", "bind invoicing's queue", bind("invoicing.billing-events", "billing.order.placed")),
    ("invoicing", "publish a billing event", publish("billing.order.placed")),
    ("invoicing", "read billing's queue", take_from(ACCOUNT_QUEUE)),
    ("invoicing", "read the finance queue", take_from("finance.offline-payments")),
    ("invoicing", "declare a queue of billing's", declare("billing.finance-decisions")),
    ("gateway", "publish an auth event", publish("auth.ip_rules.changed")),
    ("gateway", "publish through the default exchange", publish(ACCOUNT_QUEUE, exchange="")),
    ("gateway", "declare a durable queue", declare("gateway.work")),
    ("gateway", "read billing's queue", take_from(ACCOUNT_QUEUE)),
    ("operator", "read a work queue", take_from(ACCOUNT_QUEUE)),
    ("operator", "publish an event", publish("auth.account.created")),
    ("operator", "declare a queue", declare("billing.auth-events.dlq")),
    ("keda", "publish through the default exchange", publish(ACCOUNT_QUEUE, exchange="")),
    ("keda", "read dead letters", take_from(topology.dead_letter_queue(ACCOUNT_QUEUE))),
    ("keda", "declare a queue", declare("keda.anything")),
]


@pytest.mark.parametrize(
    ("login", "operation"),
    [(login, op) for login, _, op in REFUSED],
    ids=[f"{login}: {what}" for login, what, _ in REFUSED],
)
async def test_each_login_is_refused_what_its_process_does_not_do(
    logins: BrokerLogins, login: str, operation: Operation
) -> None:
    async with await aio_pika.connect(logins.urls[login]) as connection:
        channel = await connection.channel(publisher_confirms=True)
        with pytest.raises(aiormq.exceptions.ChannelAccessRefused):
            await operation(channel)
