"""One credential per request: the token the edge checks is the token the service obeys.

Issue 14, finding 1: the gateway and the services once picked the access token
from different places, so `Cookie: tg_access=X; tg_access=Y` (or a Basic and a
Bearer header beside a cookie) let the edge check X while the service acted as
Y — past Y's IP rules and Y's revoked session. Now several candidates are
refused at the edge, the services never see the client's credentials, and they
act only on the principal the gateway signed, refusing revoked sessions too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.support.auth_client import AuthClient, User
from tests.support.harness import signed_headers, wait_for

pytestmark = pytest.mark.integration

OFFICE = "203.0.113.10"
ELSEWHERE = "198.51.100.20"


@pytest.fixture(params=["distributed", "embedded"])
async def system(start_system: Any, request: pytest.FixtureRequest) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """The whole system, distributed (PostgreSQL, RabbitMQ) and embedded (SQLite, in-process bus)."""
    # The tests stand in for a trusted proxy, so they choose the client address.
    running = await start_system(
        gateway_settings={"trusted_proxies": "127.0.0.1/32"}, embedded=request.param == "embedded"
    )
    async with httpx.AsyncClient(base_url=running.gateway, timeout=10) as client:
        yield client, running


async def restricted_victim(client: httpx.AsyncClient) -> tuple[AuthClient, User]:
    """An administrator whose account may be used only from the office."""
    office = AuthClient(client, client_ip=OFFICE)
    victim = await office.sign_up()
    rule = await office.call(
        "POST", "/api/account/ip-restrictions", victim, json={"start_ip": OFFICE, "end_ip": OFFICE}
    )
    assert rule.status_code == 201, rule.text
    elsewhere = AuthClient(client, client_ip=ELSEWHERE)

    async def refused_elsewhere() -> bool:
        return (await elsewhere.call("GET", "/api/billing/balance", victim)).status_code == 403

    await wait_for(refused_elsewhere)
    return office, victim


SMUGGLED = {
    "two cookies in one header": lambda mine, stolen: [("Cookie", f"tg_access={mine}; tg_access={stolen}")],
    "two cookie headers": lambda mine, stolen: [("Cookie", f"tg_access={mine}"), ("Cookie", f"tg_access={stolen}")],
    "basic, bearer and a cookie": lambda mine, stolen: [
        ("Authorization", "Basic Zm9vOmJhcg=="),
        ("Authorization", f"Bearer {mine}"),
        ("Cookie", f"tg_access={stolen}"),
    ],
    "a bearer and another cookie": lambda mine, stolen: [
        ("Authorization", f"Bearer {mine}"),
        ("Cookie", f"tg_access={stolen}"),
    ],
    "two bearers": lambda mine, stolen: [("Authorization", f"Bearer {mine}"), ("Authorization", f"Bearer {stolen}")],
}


@pytest.mark.parametrize("smuggle", SMUGGLED.values(), ids=SMUGGLED.keys())
async def test_a_stolen_token_cannot_ride_past_its_ip_rules_beside_an_unrestricted_one(
    system: Any, smuggle: Any
) -> None:
    client, _ = system
    office, victim = await restricted_victim(client)
    elsewhere = AuthClient(client, client_ip=ELSEWHERE)
    attacker = await elsewhere.sign_up()  # an account of their own: no rules
    headers = [*smuggle(attacker.access_token, victim.access_token), ("X-Forwarded-For", ELSEWHERE)]
    csrf = [("X-CSRF-Token", "t"), ("Cookie", "tg_csrf=t")]  # what the old double submit wanted

    balance = await client.get("/api/billing/balance", headers=headers)
    assert balance.status_code in (400, 401), balance.text
    assert balance.headers["content-type"] == "application/problem+json"
    opened = await client.post(
        "/api/account/ip-restrictions",
        headers=[*headers, *csrf],
        json={"start_ip": "0.0.0.0", "end_ip": "255.255.255.255", "description": "open"},
    )
    assert opened.status_code in (400, 401), opened.text
    invoices = await client.get("/api/invoices", headers=headers)
    assert invoices.status_code in (400, 401), invoices.text

    rules = (await office.call("GET", "/api/account/ip-restrictions", victim)).json()["items"]
    assert [(rule["start_ip"], rule["end_ip"]) for rule in rules] == [(OFFICE, OFFICE)]


async def test_the_same_token_as_bearer_and_cookie_is_one_credential(system: Any) -> None:
    client, _ = system
    side = AuthClient(client)
    admin = await side.sign_up()
    both = {"Authorization": f"Bearer {admin.access_token}", "Cookie": f"tg_access={admin.access_token}"}
    answer = await client.get("/api/billing/balance", headers=both)
    assert answer.status_code == 200, answer.text


async def test_a_service_acts_only_on_the_caller_the_gateway_signed(system: Any) -> None:
    client, running = system
    admin = await AuthClient(client).sign_up()
    for service, path in (
        ("auth", "/api/auth/me"),
        ("billing", "/api/billing/balance"),
        ("invoicing", "/api/invoices"),
    ):
        async with httpx.AsyncClient(base_url=running.urls[service], timeout=10) as direct:
            # Signed by the gateway as anonymous (a public path's header), with a valid token beside it.
            anonymous = await direct.get(path, headers={**signed_headers("GET", path), **admin.auth})
            assert anonymous.status_code == 401, (service, anonymous.text)
            named = await direct.get(path, headers=signed_headers("GET", path, access_token=admin.access_token))
            assert named.status_code == 200, (service, named.text)


ENDINGS = {
    "logout": lambda side, admin, member: side.call("POST", "/api/auth/logout", member),
    "deactivation": lambda side, admin, member: side.call(
        "PATCH", f"/api/account/users/{member.id}", admin, json={"active": False}
    ),
    "2FA reset": lambda side, admin, member: side.call("DELETE", f"/api/account/users/{member.id}/totp", admin),
}


@pytest.mark.parametrize("end_session", ENDINGS.values(), ids=ENDINGS.keys())
async def test_a_revoked_session_is_refused_by_every_service_not_only_the_edge(system: Any, end_session: Any) -> None:
    client, running = system
    side = AuthClient(client)
    admin = await side.sign_up()
    member = await side.enrolled_member(admin)
    token = member.access_token
    calls = (("auth", "/api/auth/me"), ("billing", "/api/billing/balance"), ("invoicing", "/api/invoices"))
    for service, path in calls:
        assert (await client.get(path, headers=member.auth)).status_code == 200, service
    ended = await end_session(side, admin, member)
    assert ended.status_code in (200, 204), ended.text

    for service, path in calls:
        through_gateway = await client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert through_gateway.status_code == 401, (service, through_gateway.text)

        # Straight at the service, as a gateway that has not yet heard of the revocation would send it.
        async def refused_by_the_service(base: str = running.urls[service], path: str = path) -> bool:
            async with httpx.AsyncClient(base_url=base, timeout=10) as direct:
                answer = await direct.get(path, headers=signed_headers("GET", path, access_token=token))
            return answer.status_code == 401 and answer.json()["code"] == "session_revoked"

        await wait_for(refused_by_the_service)


async def test_the_csrf_token_is_bound_to_the_session(system: Any) -> None:
    client, _ = system
    admin = await AuthClient(client).sign_up()
    first = await client.post("/api/auth/login", json={"email": admin.email, "password": admin.password})
    second = await client.post("/api/auth/login", json={"email": admin.email, "password": admin.password})

    def jar(login: httpx.Response) -> dict[str, str]:
        pairs = (c.split(";", 1)[0].split("=", 1) for c in login.headers.get_list("set-cookie"))
        return {name: value for name, value in pairs}

    one, two = jar(first), jar(second)
    assert one["tg_csrf"] != two["tg_csrf"]
    body = {"low_balance_threshold": "100.00"}

    async def put_threshold(access: str, csrf_cookie: str, csrf_header: str) -> httpx.Response:
        cookie = f"tg_access={access}; tg_csrf={csrf_cookie}"
        headers = {"Cookie": cookie, "X-CSRF-Token": csrf_header}
        return await client.put("/api/billing/threshold", json=body, headers=headers)

    # A value planted as the cookie (a sibling subdomain can set one) and echoed: refused.
    planted = await put_threshold(one["tg_access"], "planted", "planted")
    assert planted.status_code == 403 and planted.json()["code"] == "csrf_failed"
    # Another session's token: refused.
    foreign = await put_threshold(one["tg_access"], two["tg_csrf"], two["tg_csrf"])
    assert foreign.status_code == 403 and foreign.json()["code"] == "csrf_failed"
    own = await put_threshold(one["tg_access"], one["tg_csrf"], one["tg_csrf"])
    assert own.status_code == 200, own.text
