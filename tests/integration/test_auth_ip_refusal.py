"""A user blocked by an IP rule is told the same thing at login (auth) and mid-session (the gateway):
their address, that their administrator's IP restrictions apply, and whom to ask; nothing more."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.support.auth_client import AuthClient

pytestmark = pytest.mark.integration

OFFICE = "203.0.113.10"
HOME = "198.51.100.20"


@pytest.fixture
async def gateway(start_system: Any) -> AsyncIterator[httpx.AsyncClient]:
    system = await start_system(services=("auth",), gateway_settings={"trusted_proxies": "127.0.0.1/32"})
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as client:
        yield client


async def test_login_and_gateway_refuse_an_address_in_the_same_words(gateway: httpx.AsyncClient) -> None:
    office, home = AuthClient(gateway, client_ip=OFFICE), AuthClient(gateway, client_ip=HOME)
    admin = await office.sign_up()
    member = await office.add_user(admin)
    await home.log_in(member)  # a session opened from home before the rule
    rule = {"user_id": member.id, "start_ip": "203.0.113.0", "end_ip": "203.0.113.255"}
    assert (await office.call("POST", "/api/account/ip-restrictions", admin, json=rule)).status_code == 201

    at_login = await home.login(member)
    mid_session = await home.call("GET", "/api/auth/me", member)
    for refused in (at_login, mid_session):
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
    expected = {
        "type": "/problems/ip_not_allowed",
        "title": "Access from this address is not allowed",
        "status": 403,
        "code": "ip_not_allowed",
        "detail": (
            f"Your address {HOME} is outside the IP restrictions your administrator has set for this account. "
            "Ask an administrator of your account to allow it, or connect from an address they allow."
        ),
        "ip": HOME,
    }
    assert at_login.json() == expected
    assert {key: mid_session.json()[key] for key in expected} == expected
    # Nothing about the account or its administrators reaches someone who is not signed in.
    assert admin.email not in at_login.text and "Acme" not in at_login.text
