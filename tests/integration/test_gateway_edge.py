"""The edge: tokens, IP rules, revoked sessions and rate limits, decided before any service."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.support.auth_client import AuthClient, User, new_email
from tests.support.harness import amqp_url_via, wait_for
from tests.support.settings import settings_for
from tollgate.services import SERVICES
from tollgate.throwaway import TcpProxy

pytestmark = pytest.mark.integration

TRUST_LOCAL_PROXY = {"trusted_proxies": "127.0.0.1/32"}


async def test_tokens_are_checked_at_the_edge(start_system: Any) -> None:
    system = await start_system(services=("auth",))
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as client:
        side = AuthClient(client)
        admin = await side.sign_up()
        claims = jwt.decode(admin.access_token, options={"verify_signature": False})
        kid = jwt.get_unverified_header(admin.access_token)["kid"]
        forged = jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": kid})
        unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": kid})
        expired = jwt.encode(
            {**claims, "exp": int(time.time()) - 5},
            Ed25519PrivateKey.generate(),
            algorithm="EdDSA",
            headers={"kid": kid},
        )
        for token, code in (
            (None, "unauthenticated"),
            ("garbage", "invalid_token"),
            (forged, "invalid_token"),
            (unsigned, "invalid_token"),
            (expired, "invalid_token"),
            (
                jwt.encode({**claims, "aud": "other"}, "x" * 32, algorithm="HS256", headers={"kid": kid}),
                "invalid_token",
            ),
        ):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            answer = await client.get("/api/auth/me", headers=headers)
            assert answer.status_code == 401 and answer.json()["code"] == code, (token, answer.text)
        assert (await client.get("/api/auth/me", headers=admin.auth)).status_code == 200
        cookie = await client.get("/api/auth/me", headers={"Cookie": f"tg_access={admin.access_token}"})
        assert cookie.status_code == 200
        # Public endpoints need no token.
        assert (await client.get("/api/auth/jwks.json")).status_code == 200


async def test_a_logged_out_session_is_refused_by_the_gateway_at_once(start_system: Any) -> None:
    system = await start_system(services=("auth",))
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as client:
        side = AuthClient(client)
        admin = await side.sign_up()
        token = admin.access_token
        assert (await side.call("POST", "/api/auth/logout", admin)).status_code == 204

        async def refused_by_gateway() -> bool:
            answer = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
            return answer.status_code == 401 and answer.json()["code"] == "session_revoked"

        await wait_for(refused_by_gateway, timeout=5)


async def ip_refused(client: httpx.AsyncClient, user: User, ip: str) -> bool:
    answer = await client.get("/api/auth/me", headers={**user.auth, "X-Forwarded-For": ip})
    return answer.status_code == 403 and answer.json()["code"] == "ip_not_allowed"


async def test_a_rule_change_takes_effect_at_every_gateway(start_system: Any, amqp_url: str) -> None:
    system = await start_system(services=("auth",), gateway_settings=TRUST_LOCAL_PROXY)
    second_app = SERVICES["gateway"].create_app(
        settings_for("gateway", auth_url=system.urls["auth"], amqp_url=amqp_url, **TRUST_LOCAL_PROXY),
        instance="gateway-2",
    )
    second = await system.group.start("gateway-2", second_app)
    await asyncio.wait_for(second_app.gateway.sync.synced.wait(), timeout=20)
    await wait_for(lambda: _ready(second_app))
    async with (
        httpx.AsyncClient(base_url=system.gateway, timeout=10) as one,
        httpx.AsyncClient(base_url=second, timeout=10) as two,
    ):
        office = AuthClient(one, client_ip="203.0.113.10")
        admin = await office.sign_up()
        member = await office.add_user(admin)
        await office.log_in(member)
        assert not await ip_refused(two, member, "198.51.100.7")

        started = time.monotonic()
        created = await office.call(
            "POST",
            "/api/account/ip-restrictions",
            admin,
            json={"user_id": member.id, "start_ip": "203.0.113.0", "end_ip": "203.0.113.255"},
        )
        assert created.status_code == 201
        for gateway in (one, two):
            await wait_for(
                lambda gateway=gateway: ip_refused(gateway, member, "198.51.100.7"), timeout=5, interval=0.01
            )
        elapsed = time.monotonic() - started
        print(f"rule change effective at both gateways after {elapsed * 1000:.0f} ms")
        # Inside the range the member still passes; other users are unaffected.
        assert (
            await two.get("/api/auth/me", headers={**member.auth, "X-Forwarded-For": "203.0.113.99"})
        ).status_code == 200
        assert not await ip_refused(two, admin, "198.51.100.7")


async def _ready(app: Any) -> bool:
    return bool(app.gateway.bus_started.is_set())


async def test_gateway_resyncs_what_it_missed_while_the_broker_was_away(start_system: Any, amqp_url: str) -> None:
    target = urlsplit(amqp_url)
    link = TcpProxy(target.hostname or "127.0.0.1", target.port or 5672)
    await link.start()
    system = await start_system(services=("auth",), gateway_settings=TRUST_LOCAL_PROXY)
    watched_app = SERVICES["gateway"].create_app(
        settings_for(
            "gateway", auth_url=system.urls["auth"], amqp_url=amqp_url_via(link, amqp_url), **TRUST_LOCAL_PROXY
        ),
        instance="gateway-watched",
    )
    watched = await system.group.start("gateway-watched", watched_app)
    await asyncio.wait_for(watched_app.gateway.sync.synced.wait(), timeout=20)
    await wait_for(lambda: _ready(watched_app))
    async with (
        httpx.AsyncClient(base_url=system.gateway, timeout=10) as one,
        httpx.AsyncClient(base_url=watched, timeout=10) as two,
    ):
        office = AuthClient(one, client_ip="203.0.113.10")
        admin = await office.sign_up()
        member = await office.add_user(admin)
        await office.log_in(member)

        await link.cut()  # the watched gateway's broker connection (and its own queue) is gone
        created = await office.call(
            "POST",
            "/api/account/ip-restrictions",
            admin,
            json={"user_id": member.id, "start_ip": "203.0.113.0", "end_ip": "203.0.113.255"},
        )
        assert created.status_code == 201
        await wait_for(lambda: ip_refused(one, member, "198.51.100.7"))
        await asyncio.sleep(0.5)
        assert not await ip_refused(two, member, "198.51.100.7")  # it missed the event

        await link.restore()
        await wait_for(lambda: ip_refused(two, member, "198.51.100.7"), timeout=20)
    await link.cut()


async def test_login_endpoints_are_rate_limited_per_client_address(start_system: Any) -> None:
    system = await start_system(services=("auth",), gateway_settings={**TRUST_LOCAL_PROXY, "auth_rate_per_minute": 5})
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as client:
        # A new unknown email each time: auth throttles each email on its own, and this is the gateway's limit.
        def body() -> dict[str, str]:
            return {"email": new_email(), "password": "wrong password here"}

        answers = [
            await client.post("/api/auth/login", json=body(), headers={"X-Forwarded-For": "198.51.100.1"})
            for _ in range(6)
        ]
        assert [a.status_code for a in answers[:5]] == [401] * 5
        assert answers[5].status_code == 429 and int(answers[5].headers["retry-after"]) >= 1
        assert answers[5].json()["code"] == "too_many_requests"
        other = await client.post("/api/auth/login", json=body(), headers={"X-Forwarded-For": "198.51.100.2"})
        assert other.status_code == 401  # another address has its own bucket


async def test_refresh_is_rate_limited_per_client_address_like_login(start_system: Any) -> None:
    system = await start_system(services=("auth",), gateway_settings={**TRUST_LOCAL_PROXY, "auth_rate_per_minute": 5})
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as client:
        body = {"refresh_token": "a guessed refresh token"}
        answers = [
            await client.post("/api/auth/refresh", json=body, headers={"X-Forwarded-For": "198.51.100.1"})
            for _ in range(6)
        ]
        assert [a.status_code for a in answers[:5]] == [401] * 5
        assert answers[5].status_code == 429 and int(answers[5].headers["retry-after"]) >= 1
        assert answers[5].json()["code"] == "too_many_requests"
        other = await client.post("/api/auth/refresh", json=body, headers={"X-Forwarded-For": "198.51.100.2"})
        assert other.status_code == 401  # another address has its own bucket


async def test_authenticated_calls_fail_closed_until_the_rules_are_loaded(start_system: Any, amqp_url: str) -> None:
    system = await start_system(services=("billing",))  # no auth: no snapshot can load
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as client:
        answer = await client.get("/api/billing/balance", headers={"Authorization": "Bearer something"})
        assert answer.status_code == 503 and answer.json()["code"] == "not_ready"
        ready = await client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["ip_rules"] is False


async def test_clients_cannot_choose_their_address_or_forge_the_gateways_headers(start_system: Any) -> None:
    system = await start_system(services=("auth",))  # no trusted proxies
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as client:
        forged = {
            "X-Forwarded-For": "203.0.113.50",
            "X-Real-IP": "203.0.113.51",
            "X-Tollgate-Edge": "v1;0;203.0.113.52;x;y",
        }
        assert (await client.get("/api/whoami", headers=forged)).json() == {"ip": "127.0.0.1"}
        side = AuthClient(client)
        admin = await side.sign_up()
        # The forged edge header is replaced by the gateway's own; the service sees 127.0.0.1.
        listing = await client.get("/api/account/ip-restrictions", headers={**admin.auth, **forged})
        assert listing.status_code == 200 and listing.json()["your_ip"] == "127.0.0.1"
    trusting = await start_system(services=("auth",), gateway_settings=TRUST_LOCAL_PROXY)
    async with httpx.AsyncClient(base_url=trusting.gateway, timeout=10) as client:
        chain = {"X-Forwarded-For": "198.51.100.9, 203.0.113.50"}
        assert (await client.get("/api/whoami", headers=chain)).json() == {"ip": "203.0.113.50"}


async def test_cors_is_off_unless_origins_are_configured(start_system: Any) -> None:
    plain = await start_system(services=("auth",))
    preflight = {"Origin": "https://portal.example", "Access-Control-Request-Method": "POST"}
    async with httpx.AsyncClient(base_url=plain.gateway, timeout=10) as client:
        answer = await client.options("/api/auth/login", headers=preflight)
        assert "access-control-allow-origin" not in answer.headers
    allowing = await start_system(services=("auth",), gateway_settings={"cors_origins": "https://portal.example"})
    async with httpx.AsyncClient(base_url=allowing.gateway, timeout=10) as client:
        answer = await client.options("/api/auth/login", headers=preflight)
        assert answer.status_code == 204 and answer.headers["access-control-allow-origin"] == "https://portal.example"
        other = await client.options("/api/auth/login", headers={**preflight, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        simple = await client.get("/api/auth/jwks.json", headers={"Origin": "https://portal.example"})
        assert simple.headers["access-control-allow-origin"] == "https://portal.example"
