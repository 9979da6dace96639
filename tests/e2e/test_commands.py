"""The README's ways to run Tollgate, as a user runs them: real processes, real HTTP."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest

from tests.harness import DatabaseFactory, fetch, free_port_pair, wait_for, wait_ready

pytestmark = pytest.mark.integration

SIGN_UP = {"account_name": "Acme", "password": "correct horse battery"}
OPENAPI = {
    "/api/auth/openapi.json": "Tollgate auth",
    "/api/billing/openapi.json": "Tollgate billing",
    "/api/invoices/openapi.json": "Tollgate invoicing",
}


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
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


async def _reaches_every_service(client: httpx.AsyncClient) -> str:
    for path, title in OPENAPI.items():
        response = await client.get(path)
        assert response.status_code == 200 and response.json()["info"]["title"] == title, path
    response = await client.post("/api/accounts", json={**SIGN_UP, "email": f"{uuid.uuid4().hex}@example.com"})
    assert response.status_code == 201, response.text
    account_id: str = response.json()["account"]["id"]
    return account_id


async def test_tollgate_dev_runs_everything_in_one_process(launch: Any, tmp_path: Path) -> None:
    port = free_port_pair()[0]
    process = launch(
        ["dev", "--port", str(port), "--data-dir", str(tmp_path / "data")], _environment(), tmp_path / "dev.log"
    )
    base = f"http://127.0.0.1:{port}"
    await wait_ready(base, timeout=60)
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        account_id = await _reaches_every_service(client)
        assert (await client.get("/api/whoami")).json() == {"ip": "127.0.0.1"}
        assert "<h1>Tollgate</h1>" in (await client.get("/")).text

    def wallet_count() -> int:
        with sqlite3.connect(tmp_path / "data" / "billing.db") as db:
            return int(db.execute("SELECT count(*) FROM wallet WHERE account_id = ?", (account_id,)).fetchone()[0])

    async def wallet_opened() -> bool:
        return await asyncio.to_thread(wallet_count) == 1

    await wait_for(wallet_opened)
    process.send_signal(signal.SIGINT)
    assert await asyncio.to_thread(process.wait, 20) == 0


async def test_tollgate_stack_runs_the_distributed_system(
    launch: Any, tmp_path: Path, databases: DatabaseFactory, amqp_url: str
) -> None:
    urls = {service: await databases.fresh(service) for service in ("auth", "billing", "invoicing")}
    env = _environment(
        TOLLGATE_AMQP_URL=amqp_url, **{f"TOLLGATE_{service.upper()}_DATABASE_URL": url for service, url in urls.items()}
    )
    port, base_port = free_port_pair()
    launch(["stack", "--port", str(port), "--base-port", str(base_port)], env, tmp_path / "stack.log")
    base = f"http://127.0.0.1:{port}"
    await wait_ready(base, timeout=90)
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        account_id = await _reaches_every_service(client)

    async def wallet() -> list[Any]:
        return await fetch(urls["billing"], "SELECT account_id FROM wallet WHERE account_id = $1", account_id)

    assert len(await wait_for(wallet)) == 1

    async def billing_consumers() -> int:
        async with await aio_pika.connect(amqp_url) as connection:
            channel = await connection.channel()
            queue = await channel.declare_queue("billing.auth-events", passive=True)
            return queue.declaration_result.consumer_count or 0

    assert await wait_for(billing_consumers) == 2  # two billing replicas compete for the queue
