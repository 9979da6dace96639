"""The gateway answers problem details when a service is down, and routes only the public API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from tests.support.harness import wait_for
from tests.support.ports import port_free_on
from tests.support.settings import settings_for
from tollgate.services import SERVICES

pytestmark = pytest.mark.integration


async def test_gateway_reaches_each_service(start_system: Any) -> None:
    system = await start_system()
    async with httpx.AsyncClient(base_url=system.gateway) as client:
        for path, title in (
            ("/api/auth/openapi.json", "Tollgate auth"),
            ("/api/billing/openapi.json", "Tollgate billing"),
            ("/api/invoices/openapi.json", "Tollgate invoicing"),
        ):
            response = await client.get(path)
            assert response.status_code == 200, path
            assert response.json()["info"]["title"] == title
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["x-request-id"]


async def test_a_service_that_is_down_is_its_routes_503_and_the_gateway_stays_ready(start_system: Any) -> None:
    system = await start_system()
    await system.group.stop("billing")
    async with httpx.AsyncClient(base_url=system.gateway) as client:
        response = await client.get("/api/billing/openapi.json")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "service_unavailable"
        # The edge is ready whatever the services behind it (DESIGN §10): it still routes the others.
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"ip_rules": True}
        assert (await client.get("/api/auth/openapi.json")).status_code == 200


async def test_unknown_paths_and_internal_endpoints_are_not_routed(start_system: Any) -> None:
    system = await start_system()
    async with httpx.AsyncClient(base_url=system.gateway) as client:
        for path in ("/api/nothing", "/internal/ip-rules", "/api/accountsX"):
            response = await client.get(path)
            assert response.status_code == 404, path
            assert response.headers["content-type"] == "application/problem+json"


async def test_a_service_refuses_requests_that_bypass_the_gateway(start_system: Any) -> None:
    system = await start_system(services=("auth",))
    async with httpx.AsyncClient(base_url=system.urls["auth"]) as client:
        direct = await client.post("/api/accounts", json={}, headers={"X-Forwarded-For": "10.0.0.1"})
        assert direct.status_code == 403 and direct.json()["code"] == "not_from_gateway"
        assert (await client.get("/healthz")).status_code == 200


async def test_body_over_the_limit_is_413_before_reaching_the_service(start_system: Any) -> None:
    system = await start_system(services=("auth",))
    async with httpx.AsyncClient(base_url=system.gateway) as client:
        response = await client.post(
            "/api/accounts", content=b"x" * 2_000_000, headers={"content-type": "application/json"}
        )
        assert response.status_code == 413 and response.json()["code"] == "body_too_large"

        async def chunks() -> Any:
            for _ in range(40):
                yield b"x" * 65536

        streamed = await client.post("/api/accounts", content=chunks(), headers={"content-type": "application/json"})
        assert streamed.status_code == 413


async def test_readyz_turns_ready_once_the_ip_rules_are_loaded(start_system: Any) -> None:
    system = await start_system()
    async with httpx.AsyncClient(base_url=system.gateway) as client:

        async def ready() -> bool:
            return (await client.get("/readyz")).status_code == 200

        assert await wait_for(ready)
        body = (await client.get("/readyz")).json()
        assert body["checks"] == {"ip_rules": True} and body["broker"] == "connected"


async def slow_service(scope: Any, receive: Any, send: Any) -> None:
    """An upstream that takes longer than the gateway waits."""
    if scope["type"] != "http":
        return
    await asyncio.sleep(3)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"late"})


async def test_a_slow_service_is_a_504_and_does_not_block_other_requests(start_system: Any, amqp_url: str) -> None:
    system = await start_system(services=("auth",))
    slow = await system.group.start("slow", slow_service)
    gateway_app = SERVICES["gateway"].create_app(
        settings_for(
            "gateway", auth_url=system.urls["auth"], invoicing_url=slow, upstream_timeout=0.5, amqp_url=amqp_url
        )
    )
    gateway = await system.group.start("gateway-slow", gateway_app)
    async with httpx.AsyncClient(base_url=gateway, timeout=10) as client:
        slow_call = asyncio.create_task(client.get("/api/invoices/openapi.json"))
        fast = await client.get("/api/auth/openapi.json")  # answered while the slow one waits
        assert fast.status_code == 200 and not slow_call.done()
        answer = await slow_call
        assert answer.status_code == 504 and answer.json()["code"] == "upstream_timeout"


async def test_a_service_answering_garbage_is_a_502(start_system: Any) -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        writer.write(b"this is not HTTP\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(garbage, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    system = await start_system(services=("auth",), gateway_upstreams={"invoicing_url": f"http://127.0.0.1:{port}"})
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as client:
        answer = await client.get("/api/invoices/openapi.json")
        assert answer.status_code == 502 and answer.json()["code"] == "bad_gateway"
        assert answer.headers["content-type"] == "application/problem+json"
    server.close()


# --- replicas found by name, ejected and taken back (issue 16) ---------------------------------------------
class Stub:
    """A stand-in replica on one loopback address: answers every request with its name, counts the
    requests and the connections they came on."""

    def __init__(self, name: str, host: str, port: int) -> None:
        self.name, self.host, self.port = name, host, port
        self.requests = 0
        self.ready = True
        self.connections: set[int] = set()
        self._runner: web.AppRunner | None = None

    async def _answer(self, request: web.Request) -> web.Response:
        if request.path == "/readyz":
            return web.json_response({}, status=200 if self.ready else 503)
        self.requests += 1
        peer = request.transport.get_extra_info("peername") if request.transport else None
        if peer is not None:
            self.connections.add(peer[1])
        return web.json_response({"replica": self.name})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._answer)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@pytest.fixture
async def stubs() -> AsyncIterator[list[Stub]]:
    started: list[Stub] = []
    yield started
    for stub in started:
        await stub.stop()


async def test_the_gateway_balances_over_a_name_finds_a_new_replica_and_leaves_a_stopped_one(
    start_system: Any, stubs: list[Stub], tmp_path: Path
) -> None:
    addresses = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
    port = port_free_on(addresses)
    for number, address in enumerate(addresses[:2], start=1):
        stubs.append(Stub(f"billing-{number}", address, port))
        await stubs[-1].start()
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.2 billing-replicas\n127.0.0.3 billing-replicas\n")
    system = await start_system(
        services=("auth",),
        gateway_upstreams={"billing_url": f"http://billing-replicas:{port}"},
        gateway_settings={
            "upstream_hosts_file": str(hosts),
            "upstream_resolve_interval": 0.2,
            "upstream_health_interval": 0.2,
        },
    )
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as client:
        for _ in range(20):
            assert (await client.get("/api/billing/openapi.json")).status_code == 200
        assert [stub.requests for stub in stubs] == [10, 10]

        third = Stub("billing-3", addresses[2], port)
        await third.start()
        stubs.append(third)
        hosts.write_text(hosts.read_text() + "127.0.0.4 billing-replicas\n")

        async def third_served() -> bool:
            assert (await client.get("/api/billing/openapi.json")).status_code == 200
            return third.requests > 0

        await wait_for(third_served, timeout=5)

        # Stopped: its connections are refused, and a POST goes to another replica (nothing was sent).
        await stubs[0].stop()
        before = stubs[0].requests
        for _ in range(30):
            answer = await client.post("/api/billing/webhooks/stub", json={})
            assert answer.status_code == 200, answer.text
            assert answer.json()["replica"] != "billing-1"
        assert stubs[0].requests == before


async def test_a_replica_that_fails_its_health_check_gets_no_requests_until_it_passes_again(
    start_system: Any, stubs: list[Stub]
) -> None:
    port = port_free_on(["127.0.0.2", "127.0.0.3"])
    healthy, sick = Stub("healthy", "127.0.0.2", port), Stub("sick", "127.0.0.3", port)
    for stub in (healthy, sick):
        await stub.start()
        stubs.append(stub)
    system = await start_system(
        services=("auth",),
        gateway_upstreams={"billing_url": f"http://127.0.0.2:{port},http://127.0.0.3:{port}"},
        gateway_settings={"upstream_health_interval": 0.2},
    )
    sick.ready = False
    await asyncio.sleep(0.6)  # a health check or two
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as client:
        before = sick.requests
        for _ in range(10):
            assert (await client.get("/api/billing/openapi.json")).json()["replica"] == "healthy"
        assert sick.requests == before
        sick.ready = True

        async def sick_served_again() -> bool:
            await client.get("/api/billing/openapi.json")
            return sick.requests > before

        await wait_for(sick_served_again, timeout=5)


async def test_connections_to_a_service_are_reused_for_their_lifetime_and_no_longer(
    start_system: Any, stubs: list[Stub]
) -> None:
    stub = Stub("billing-1", "127.0.0.2", port_free_on(["127.0.0.2"]))
    await stub.start()
    stubs.append(stub)
    system = await start_system(
        services=("auth",),
        gateway_upstreams={"billing_url": f"http://127.0.0.2:{stub.port}"},
        gateway_settings={"upstream_connection_lifetime": 0.5},
    )
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as client:
        for _ in range(30):  # one at a time, about 1.5 s in all, never idle for long
            assert (await client.get("/api/billing/openapi.json")).status_code == 200
            await asyncio.sleep(0.05)
    # Kept alive (far fewer connections than requests), but renewed within the 1.5 s.
    assert 2 <= len(stub.connections) <= 10, stub.connections
