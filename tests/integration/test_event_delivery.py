"""An event written in auth's transaction reaches billing's consumer exactly once.

auth writes `auth.account.created` to its outbox with the account; the relay
publishes it to RabbitMQ; billing's inbox consumer opens the wallet. Real
RabbitMQ, real PostgreSQL, real HTTP through the gateway.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any
from urllib.parse import urlsplit

import aio_pika
import httpx
import pytest

from tests.support.auth_client import AuthClient, User
from tests.support.events import (
    ACCOUNT_QUEUE,
    CountingHandler,
    account_created_event,
    publish_raw,
    sign_up,
    unsent_events,
    wallets,
)
from tests.support.harness import amqp_url_via, fetch, wait_for
from tests.support.invoicing import ITEM, KARNATAKA_GSTIN, invoice_of, valid_gstin
from tollgate.throwaway import TcpProxy
from tollgate_shared.bus import topology
from tollgate_shared.outbox import record_events

pytestmark = pytest.mark.integration


async def test_event_reaches_the_other_service_once(start_system: Any) -> None:
    handler = CountingHandler()
    system = await start_system(billing_consumers=handler.consumers())

    account_id = await sign_up(system.gateway)

    await wait_for(lambda: wallets(system.database_urls["billing"], account_id))
    await asyncio.sleep(0.5)  # room for a second, wrong delivery
    assert await wallets(system.database_urls["billing"], account_id) == 1
    assert handler.calls == 1
    await wait_for(lambda: _is_zero(unsent_events(system.database_urls["auth"])))


async def _is_zero(count: Any) -> bool:
    return await count == 0


async def test_event_committed_while_the_broker_is_down_arrives_once_it_is_back(
    start_system: Any, amqp_url: str
) -> None:
    target = urlsplit(amqp_url)
    link = TcpProxy(target.hostname or "127.0.0.1", target.port or 5672)
    await link.start()
    handler = CountingHandler()
    system = await start_system(amqp_urls={"auth": amqp_url_via(link, amqp_url)}, billing_consumers=handler.consumers())

    await link.cut()
    account_id = await sign_up(system.gateway)  # the commit succeeds without the broker
    await asyncio.sleep(1.5)
    assert await unsent_events(system.database_urls["auth"]) == 2  # account.created and user.created wait
    assert await wallets(system.database_urls["billing"], account_id) == 0

    await link.restore()
    await wait_for(lambda: wallets(system.database_urls["billing"], account_id), timeout=30)
    await wait_for(lambda: _is_zero(unsent_events(system.database_urls["auth"])), timeout=30)
    await asyncio.sleep(0.5)
    assert await wallets(system.database_urls["billing"], account_id) == 1
    assert handler.calls == 1
    await link.cut()


async def test_the_same_message_delivered_twice_has_one_effect(start_system: Any, amqp_url: str) -> None:
    handler = CountingHandler()
    system = await start_system(services=("billing",), billing_consumers=handler.consumers())
    event = account_created_event()

    for _ in range(2):
        await publish_raw(amqp_url, event.type, event.to_json(), event.id)

    await wait_for(lambda: wallets(system.database_urls["billing"], event.account_id))
    inbox = await wait_for(lambda: _inbox_rows(system.database_urls["billing"], event.id))
    await asyncio.sleep(1.0)  # both deliveries have been handled by now
    assert await wallets(system.database_urls["billing"], event.account_id) == 1
    assert handler.calls == 1
    assert len(inbox) == 1 and inbox[0]["consumer"] == ACCOUNT_QUEUE


async def _inbox_rows(database_url: str, event_id: str) -> list[Any]:
    return await fetch(database_url, "SELECT consumer FROM inbox WHERE event_id = $1", event_id)


async def test_a_handler_failing_twice_then_succeeding_applies_the_event_once(start_system: Any) -> None:
    handler = CountingHandler(failures=2)
    system = await start_system(billing_consumers=handler.consumers())

    account_id = await sign_up(system.gateway)

    await wait_for(lambda: wallets(system.database_urls["billing"], account_id), timeout=20)
    await asyncio.sleep(0.5)
    assert handler.calls == 3
    assert await wallets(system.database_urls["billing"], account_id) == 1


async def test_poison_message_is_parked_and_dlq_replay_brings_it_back(
    start_system: Any, amqp_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tollgate.cli import main

    handler = CountingHandler(failures=1_000)  # fails every attempt
    system = await start_system(services=("billing",), billing_consumers=handler.consumers())
    poison_id = str(uuid.uuid4())
    await publish_raw(amqp_url, "auth.account.created", b"{not json", poison_id)
    event = account_created_event()
    await publish_raw(amqp_url, event.type, event.to_json(), event.id)

    await wait_for(lambda: _dead_letter_count(amqp_url), timeout=20)
    await wait_for(lambda: _dead_letter_count(amqp_url, at_least=2), timeout=20)
    assert handler.calls == 3  # first try + two retry tiers, then parked
    monkeypatch.setenv("TOLLGATE_AMQP_URL", amqp_url)
    assert await asyncio.to_thread(main, ["dlq", "list"]) == 0
    listing = capsys.readouterr().out
    assert poison_id in listing and event.id in listing and "auth.account.created" in listing

    handler.failures = 0  # the operator fixed the cause
    assert await asyncio.to_thread(main, ["dlq", "replay", "--queue", ACCOUNT_QUEUE, "--id", event.id]) == 0
    assert "replayed 1 message" in capsys.readouterr().out
    await wait_for(lambda: wallets(system.database_urls["billing"], event.account_id), timeout=20)
    assert await _dead_letter_count(amqp_url) == 1  # only the poison is left
    assert await wallets(system.database_urls["billing"], event.account_id) == 1


async def _dead_letter_count(amqp_url: str, at_least: int = 1) -> int:
    async with await aio_pika.connect(amqp_url) as connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(f"{ACCOUNT_QUEUE}.dlq", passive=True)
        count = queue.declaration_result.message_count or 0
    return count if count >= at_least else 0


async def test_unrouted_events_are_kept_for_operators_not_returned(start_system: Any, amqp_url: str) -> None:
    system = await start_system(services=("auth",))
    await sign_up(system.gateway)  # auth.user.created has no consumer yet
    await wait_for(lambda: _is_zero(unsent_events(system.database_urls["auth"])))

    async def unrouted() -> int:
        async with await aio_pika.connect(amqp_url) as connection:
            channel = await connection.channel()
            queue = await channel.declare_queue("ops.unrouted", passive=True)
            return queue.declaration_result.message_count or 0

    assert await wait_for(unrouted) >= 1  # account.created: billing, its consumer, is not running


async def queue_length(amqp_url: str, queue: str) -> int:
    async with await aio_pika.connect(amqp_url) as connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        return declared.declaration_result.message_count or 0


async def test_a_normal_day_leaves_ops_unrouted_empty_and_an_unknown_key_still_lands_there(
    start_system: Any, amqp_url: str
) -> None:
    system = await start_system()
    async with httpx.AsyncClient(base_url=system.gateway, timeout=20) as http:
        client = AuthClient(http)
        admin = await client.sign_up()  # account and user created, login succeeded
        assert (await client.login(User(admin.email, password="wrong password"))).status_code == 401
        member = await client.add_user(admin)
        rule = {"user_id": member.id, "start_ip": "10.0.0.1", "end_ip": "10.0.0.9", "description": "office"}
        assert (await client.call("POST", "/api/account/ip-restrictions", admin, json=rule)).status_code == 201
        await valid_gstin(client, admin, "Karnataka", KARNATAKA_GSTIN)
        threshold = {"low_balance_threshold": "5000.00"}
        assert (await client.call("PUT", "/api/billing/threshold", admin, json=threshold)).status_code == 200
        started = await client.call("POST", "/api/billing/credits/online", admin, json={"amount": "10000.00"})
        page = started.json()["redirect_url"]
        assert (await http.post(page, data={"card_number": "4242424242424242"})).status_code == 303  # a receipt
        paid = await client.call("POST", "/api/billing/orders", admin, json={"order_id": "ORD-1", "items": [ITEM]})
        assert paid.json()["status"] == "paid", paid.text  # the balance falls below the threshold
        declined = await client.call("POST", "/api/billing/credits/online", admin, json={"amount": "100.00"})
        await http.post(declined.json()["redirect_url"], data={"card_number": "4000000000000002"})
        offline = {"amount": "500.00", "mode": "neft", "reference": "UTR-1", "paid_on": "2026-01-05"}
        assert (await client.call("POST", "/api/billing/credits/offline", admin, json=offline)).status_code == 202
        await invoice_of(client, admin, "ORD-1", "paid")
        assert (await client.call("POST", "/api/auth/logout", admin)).status_code == 204  # a session revoked

    for service in ("auth", "billing", "invoicing"):
        await wait_for(lambda service=service: _is_zero(unsent_events(system.database_urls[service])), timeout=30)
    await asyncio.sleep(0.5)  # the last confirms are in; the broker has routed all of it
    assert await queue_length(amqp_url, topology.UNROUTED_QUEUE) == 0
    assert await queue_length(amqp_url, topology.ARCHIVE_QUEUE) > 0  # invoice.issued, login.succeeded, ...

    await publish_raw(amqp_url, "billing.odrer.placed", b"{}", str(uuid.uuid4()))  # a typo nobody consumes
    assert await wait_for(lambda: queue_length(amqp_url, topology.UNROUTED_QUEUE)) == 1


async def test_consumers_resume_after_the_broker_connection_comes_back(start_system: Any, amqp_url: str) -> None:
    target = urlsplit(amqp_url)
    link = TcpProxy(target.hostname or "127.0.0.1", target.port or 5672)
    await link.start()
    handler = CountingHandler()
    through_link = {"billing": amqp_url_via(link, amqp_url)}
    system = await start_system(services=("billing",), amqp_urls=through_link, billing_consumers=handler.consumers())

    await link.cut()
    async with httpx.AsyncClient() as client:

        async def broker(state: str) -> bool:
            answer = await client.get(f"{system.urls['billing']}/readyz")
            # Reported, never a reason to be unready (DESIGN §10).
            return answer.status_code == 200 and answer.json()["broker"] == state

        await wait_for(lambda: broker("disconnected"))
        event = account_created_event()
        await publish_raw(amqp_url, event.type, event.to_json(), event.id)  # waits in the durable queue
        await link.restore()
        await wait_for(lambda: broker("connected"), timeout=30)
    await wait_for(lambda: wallets(system.database_urls["billing"], event.account_id), timeout=30)
    assert handler.calls == 1
    await link.cut()


async def test_a_service_whose_broker_is_away_stops_without_waiting_for_it(start_system: Any, amqp_url: str) -> None:
    """Nothing can be cancelled or published on a broker that is away: the shutdown goes on without it
    (it used to wait out its drain deadline, 14 s of the default grace), the outbox keeps what it holds."""
    target = urlsplit(amqp_url)
    link = TcpProxy(target.hostname or "127.0.0.1", target.port or 5672)
    await link.start()
    system = await start_system(
        services=("billing",),
        amqp_urls={"billing": amqp_url_via(link, amqp_url)},
        billing_consumers=CountingHandler().consumers(),
        billing_settings={"shutdown_grace_seconds": 300},
    )
    database = system.database_urls["billing"]
    runtime = system.apps["billing"].state.runtime
    try:
        await link.cut()
        await wait_for(lambda: _is_false(runtime.bus.is_ready()))
        async with runtime.session_factory() as session, session.begin():
            await record_events(session, [account_created_event()])
        await wait_for(lambda: _locked_by_the_relay(database))  # its cycle waits for the broker's confirm

        await system.group.stop("billing")
        assert runtime.shutdown.drain_left() > 0  # it stopped before its drain deadline, not at it
        assert await unsent_events(database) == 1
    finally:
        await link.cut()


async def _is_false(value: bool) -> bool:
    return not value


async def _locked_by_the_relay(database_url: str) -> bool:
    """The unsent event is there, and locked (a relay holds it while publishing)."""
    unlocked = await fetch(
        database_url, "SELECT count(*) AS n FROM (SELECT 1 FROM outbox WHERE sent_at IS NULL FOR UPDATE SKIP LOCKED) s"
    )
    return await unsent_events(database_url) == 1 and unlocked[0]["n"] == 0


async def test_the_relay_recovers_when_the_unrouted_queue_was_deleted(start_system: Any, amqp_url: str) -> None:
    system = await start_system(services=("auth",))
    async with await aio_pika.connect(amqp_url) as connection:
        channel = await connection.channel()
        await channel.queue_delete("ops.unrouted")  # an operator's mistake
    await sign_up(system.gateway)  # its events have no consumer here
    await wait_for(lambda: _is_zero(unsent_events(system.database_urls["auth"])), timeout=20)
