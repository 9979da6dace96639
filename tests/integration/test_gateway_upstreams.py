"""The gateway answers problem details when a service is down, and routes only the public API."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.conftest import settings_for
from tests.harness import wait_for
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
