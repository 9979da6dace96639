"""The README's ways to run Tollgate, as a user runs them: real processes, real HTTP."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest
from aiohttp import web

from tests.support.auth_client import AuthClient
from tests.support.harness import DatabaseFactory, fetch, free_port_pair, stop_processes, wait_for, wait_ready
from tests.support.scrapes import scrape

pytestmark = pytest.mark.integration

SIGN_UP = {"account_name": "Acme", "password": "correct horse battery"}
OPENAPI = {
    "/api/auth/openapi.json": "Tollgate auth",
    "/api/billing/openapi.json": "Tollgate billing",
    "/api/invoices/openapi.json": "Tollgate invoicing",
}


def free_ports(count: int) -> int:
    """The first of `count` consecutive loopback ports nobody listens on."""
    for _ in range(50):
        first = free_port_pair()[0] + 1
        try:
            for offset in range(count):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", first + offset))
        except OSError:
            continue
        return first
    raise RuntimeError("no free ports")


async def _serves_metrics_with_the_service_label(url: str, services: set[str]) -> None:
    """Each of `services` timed requests and reports its bus there; no label names anyone."""

    async def labelled() -> bool:
        got = await scrape(url)
        timed = got.label_values("service", "http_server_request_duration_seconds_count")
        return services <= timed and services <= got.label_values("service", "tollgate_broker_connected")

    await wait_for(labelled, timeout=20)
    assert (await scrape(url)).suspicious_label_values() == set()


def _environment(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLGATE_")}
    env.update(values)
    return env


@pytest.fixture
def launch() -> Iterator[Any]:
    processes: list[subprocess.Popen[bytes]] = []

    def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        handle = log.open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "tollgate.cli", *args], env=env, stdout=handle, stderr=subprocess.STDOUT
        )
        processes.append(process)
        return process

    yield start
    stop_processes(processes, signal.SIGINT)


async def _reaches_every_service(client: httpx.AsyncClient) -> str:
    for path, title in OPENAPI.items():
        response = await client.get(path)
        assert response.status_code == 200 and response.json()["info"]["title"] == title, path
    response = await client.post("/api/accounts", json={**SIGN_UP, "email": f"{uuid.uuid4().hex}@example.com"})
    assert response.status_code == 201, response.text
    account_id: str = response.json()["account"]["id"]
    return account_id


async def _tops_up_on_the_sandbox_page(http: httpx.AsyncClient) -> None:
    """The embedded default pays online with the sandbox: page, card, signed notification, credit."""
    client = AuthClient(http)
    admin = await client.sign_up()
    started = await client.call("POST", "/api/billing/credits/online", admin, json={"amount": "1000.00"})
    assert started.status_code == 201, started.text
    paid = await http.post(started.json()["redirect_url"], data={"card_number": "4242424242424242"})
    assert paid.status_code == 303, paid.text
    balance = await client.call("GET", "/api/billing/balance", admin)
    assert balance.json()["balance"] == "1000.00"


async def _obeys_one_credential_and_revocations(http: httpx.AsyncClient) -> None:
    """The edge refuses two tokens at once, and a logged-out session is refused everywhere (issue 14)."""
    client = AuthClient(http)
    first, second = await client.sign_up(), await client.sign_up()
    two = {"Cookie": f"tg_access={first.access_token}; tg_access={second.access_token}"}
    smuggled = await http.get("/api/billing/balance", headers=two)
    assert smuggled.status_code == 400 and smuggled.json()["code"] == "ambiguous_credentials", smuggled.text
    assert (await client.call("POST", "/api/auth/logout", second)).status_code == 204
    # auth reads its database; the others hear of it from the outbox a moment later.
    for path in ("/api/auth/me", "/api/billing/balance", "/api/invoices"):

        async def refused(path: str = path) -> bool:
            return (await client.call("GET", path, second)).status_code == 401

        await wait_for(refused, timeout=10)
    assert (await client.call("GET", "/api/billing/balance", first)).status_code == 200


@pytest.fixture
async def otlp_collector() -> AsyncIterator[tuple[str, list[bytes]]]:
    """A stand-in OTLP/HTTP collector: it keeps the bodies posted to /v1/traces."""
    received: list[bytes] = []

    async def traces(request: web.Request) -> web.Response:
        received.append(await request.read())
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/v1/traces", traces)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port_pair()[0]
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}", received
    await runner.cleanup()


async def test_tollgate_dev_runs_everything_in_one_process(
    launch: Any, tmp_path: Path, otlp_collector: tuple[str, list[bytes]]
) -> None:
    port = free_port_pair()[0]
    collector, exported = otlp_collector
    env = _environment(OTEL_EXPORTER_OTLP_ENDPOINT=collector, OTEL_BSP_SCHEDULE_DELAY="100")
    metrics_port = free_ports(1)
    command = ["dev", "--port", str(port), "--data-dir", str(tmp_path / "data"), "--metrics-port", str(metrics_port)]
    process = launch(command, env, tmp_path / "dev.log")
    base = f"http://127.0.0.1:{port}"
    await wait_ready(base, timeout=60)
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        account_id = await _reaches_every_service(client)
        assert (await client.get("/api/whoami")).json() == {"ip": "127.0.0.1"}
        assert "<h1>Tollgate</h1>" in (await client.get("/")).text
        await _tops_up_on_the_sandbox_page(client)
        await _obeys_one_credential_and_revocations(client)
        assert (await client.get("/metrics")).status_code == 404  # never through the gateway
    # One port for the four services of the process, told apart by their label.
    metrics = f"http://127.0.0.1:{metrics_port}/metrics"
    await _serves_metrics_with_the_service_label(metrics, {"auth", "billing", "invoicing", "gateway"})
    assert f"metrics of every service on {metrics}" in (tmp_path / "dev.log").read_text()

    def wallet_count() -> int:
        with sqlite3.connect(tmp_path / "data" / "billing.db") as db:
            return int(db.execute("SELECT count(*) FROM wallet WHERE account_id = ?", (account_id,)).fetchone()[0])

    async def wallet_opened() -> bool:
        return await asyncio.to_thread(wallet_count) == 1

    await wait_for(wallet_opened)

    async def traces_exported() -> bool:
        return any(b"auth.account.created process" in body for body in exported)

    await wait_for(traces_exported)  # OTLP export is on because the endpoint is set
    process.send_signal(signal.SIGINT)
    assert await asyncio.to_thread(process.wait, 20) == 0


def _started(log: Path) -> dict[str, list[int]]:
    """Instance → the pids `tollgate stack` said it started it with, in order."""
    pids: dict[str, list[int]] = {}
    for match in re.finditer(r"tollgate stack: (\S+) started \(pid (\d+)\)", log.read_text(errors="replace")):
        pids.setdefault(match[1], []).append(int(match[2]))
    return pids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_tollgate_stack_runs_the_distributed_system_and_starts_a_replica_that_dies_again(
    launch: Any, tmp_path: Path, databases: DatabaseFactory, amqp_url: str
) -> None:
    urls = {service: await databases.fresh(service) for service in ("auth", "billing", "invoicing")}
    env = _environment(
        TOLLGATE_AMQP_URL=amqp_url, **{f"TOLLGATE_{service.upper()}_DATABASE_URL": url for service, url in urls.items()}
    )
    port, base_port = free_port_pair()
    log = tmp_path / "stack.log"
    metrics_base = free_ports(5)
    command = ["stack", "--port", str(port), "--base-port", str(base_port), "--metrics-base-port", str(metrics_base)]
    stack = launch(command, env, log)
    base = f"http://127.0.0.1:{port}"

    async def announced() -> bool:  # once every process is ready; the gateway alone may be before the services
        return f"Tollgate (distributed) on {base}" in log.read_text(errors="replace")

    await wait_for(announced, timeout=90)
    await wait_ready(base, timeout=90)
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        account_id = await _reaches_every_service(client)
        await _obeys_one_credential_and_revocations(client)
        assert (await client.get("/metrics")).status_code == 404
    # Every process on a port of its own, printed where.
    printed = log.read_text()
    processes = ["auth-1", "billing-1", "billing-2", "invoicing-1", "gateway-1"]  # in `tollgate stack`'s order
    urls_of = {name: f"http://127.0.0.1:{metrics_base + offset}/metrics" for offset, name in enumerate(processes)}
    for instance, url in urls_of.items():
        assert f"metrics of {instance} on {url}" in printed
        await _serves_metrics_with_the_service_label(url, {instance.split("-")[0]})
    # What the load did, each where it happened.
    auth, gateway = await scrape(urls_of["auth-1"]), await scrape(urls_of["gateway-1"])
    assert auth.value("tollgate_logins_total", outcome="succeeded") >= 2
    assert auth.value("tollgate_events_published_total", event_type="auth.account.created") >= 3
    assert gateway.value("http_server_request_duration_seconds_count", route="/api/accounts/*") >= 3

    async def billing_handled_the_sign_ups() -> bool:
        replicas = [await scrape(urls_of[name]) for name in ("billing-1", "billing-2")]
        handled = "tollgate_events_handled_total"
        return sum(got.value(handled, queue="billing.auth-events", outcome="ok") for got in replicas) >= 3

    await wait_for(billing_handled_the_sign_ups)

    async def wallet() -> list[Any]:
        return await fetch(urls["billing"], "SELECT account_id FROM wallet WHERE account_id = $1", account_id)

    assert len(await wait_for(wallet)) == 1

    async def billing_consumers() -> int:
        async with await aio_pika.connect(amqp_url) as connection:
            channel = await connection.channel()
            queue = await channel.declare_queue("billing.auth-events", passive=True)
            return queue.declaration_result.consumer_count or 0

    assert await wait_for(billing_consumers) == 2  # two billing replicas compete for the queue

    # --- kill -9 one replica: the stack logs it, keeps running and starts it again
    killed = _started(log)["billing-2"][0]
    os.kill(killed, signal.SIGKILL)

    async def started_again() -> int | None:
        pids = _started(log)["billing-2"]
        return pids[-1] if len(pids) == 2 else None

    again = await wait_for(started_again, timeout=30)
    assert f"billing-2 (pid {killed}) ended with SIGKILL" in log.read_text()
    assert stack.poll() is None

    async def both_consuming() -> bool:
        return await billing_consumers() == 2

    await wait_for(both_consuming, timeout=90)
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        assert (await client.get("/api/billing/openapi.json")).status_code == 200

    # --- SIGTERM to the stack stops everything it started
    stack.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(stack.wait, 60) == 0
    everyone = [pid for pids in _started(log).values() for pid in pids]
    assert again in everyone and not [pid for pid in everyone if _alive(pid)]


REAL_SECRETS = {"TOLLGATE_SECRET_KEY": "a real secret of the tests 0123456789", "TOLLGATE_INTERNAL_KEY": "x" * 40}
PLACEHOLDER_SECRETS = ["TOLLGATE_SECRET_KEY", "TOLLGATE_INTERNAL_KEY"]
A_BROKER = {"TOLLGATE_AMQP_URL": "amqp://guest:guest@127.0.0.1:9/"}  # never reached: the check comes first


@pytest.mark.parametrize(
    ("args", "settings", "named"),
    [
        (
            ["staff", "create", "--email", "finance@example.com", "--role", "finance"],
            {"TOLLGATE_STAFF_PASSWORD": "correct horse battery staple"},
            PLACEHOLDER_SECRETS,
        ),
        (["migrate"], {}, PLACEHOLDER_SECRETS),
        (["serve", "auth", "--port", "{port}"], {}, PLACEHOLDER_SECRETS),
        (["auth", "rotate-keys"], {}, PLACEHOLDER_SECRETS),
        (["billing", "reconcile"], {}, PLACEHOLDER_SECRETS),
        # Production takes money for real: the sandbox only when asked for.
        (["serve", "auth", "--port", "{port}"], REAL_SECRETS, ["TOLLGATE_AMQP_URL"]),  # serve is the distributed way
        (["serve", "billing", "--port", "{port}"], {**REAL_SECRETS, **A_BROKER}, ["TOLLGATE_PAYMENT_PROVIDER"]),
        (
            ["serve", "gateway", "--port", "{port}"],
            {**REAL_SECRETS, **A_BROKER, "TOLLGATE_TRUSTED_PROXIES": "10.0.0.0/33"},
            ["TOLLGATE_TRUSTED_PROXIES"],
        ),
        (
            ["serve", "invoicing", "--port", "{port}"],
            {**REAL_SECRETS, **A_BROKER, "TOLLGATE_BUS_RETRY_DELAYS": "1,soon"},
            ["TOLLGATE_BUS_RETRY_DELAYS"],
        ),
        (["dev", "--port", "{port}"], {"TOLLGATE_BUS_PREFETCH": "lots"}, ["TOLLGATE_BUS_PREFETCH"]),
        (
            ["serve", "gateway", "--port", "{port}"],
            {**REAL_SECRETS, **A_BROKER, "TOLLGATE_METRICS_PORT": "99999"},
            ["TOLLGATE_METRICS_PORT"],
        ),
        (["stack", "--port", "{port}"], {"TOLLGATE_LOG_LEVEL": "LOUD"}, ["TOLLGATE_LOG_LEVEL"]),
        (["dlq", "list"], {}, ["TOLLGATE_AMQP_URL"]),
    ],
)
def test_a_configuration_mistake_is_one_line_naming_what_to_set(
    args: list[str], settings: dict[str, str], named: list[str], tmp_path: Path
) -> None:
    port = str(free_port_pair()[0])
    # SQLite files in a folder of the test's own: nothing reaches a shared database even if a check were missing.
    databases = {
        f"TOLLGATE_{service.upper()}_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / service}.db"
        for service in ("auth", "billing", "invoicing")
    }
    env = _environment(TOLLGATE_DATA_DIR=str(tmp_path / "data"), **databases, **settings)
    finished = subprocess.run(
        [sys.executable, "-m", "tollgate.cli", *(arg.format(port=port) for arg in args)],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    errors = finished.stderr.decode().strip().splitlines()
    assert finished.returncode == 2, finished.stderr.decode()
    assert len(errors) == 1, errors
    assert all(name in errors[0] for name in named), errors[0]
    assert not (tmp_path / "data").exists() and not list(tmp_path.glob("*.db"))  # it stopped before any data
