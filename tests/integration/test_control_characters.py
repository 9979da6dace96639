"""Control characters are refused with a 422 naming the field, in any service, before they reach a database.

PostgreSQL cannot store NUL in text: a NUL anywhere (a login's email, a path
or query parameter, a string deep in a body) answered 500, to anonymous
callers too. Tab, newline and carriage return stay welcome in text.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.support.auth_client import PASSWORD, AuthClient, User, new_email
from tests.support.billing import sign_up_buyer

pytestmark = pytest.mark.integration

CERTIFICATE = {"description": "OV SSL certificate, 1 year", "sac": "998319", "quantity": 1, "unit_price": "500.00"}
OFFLINE = {"amount": "250.00", "mode": "neft", "reference": "UTR-1", "paid_on": "2026-01-15"}
PROFILE = {"legal_name": "Acme Private Limited", "address": "1 MG Road", "state": "Karnataka"}


@pytest.fixture(params=[False, True], ids=["postgresql", "sqlite"])
async def portal(request: pytest.FixtureRequest, start_system: Any) -> AsyncIterator[AuthClient]:
    system = await start_system(embedded=request.param)
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as client:
        yield AuthClient(client)


def refused(answer: httpx.Response, field: str) -> bool:
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert body["code"] == "validation_error", body
    assert [error["field"] for error in body["errors"]] == [field], body
    return True


async def test_anonymous_sign_up_and_login_with_a_nul_are_refused(portal: AuthClient) -> None:
    sign_up = {"account_name": "Acme\u0000", "email": new_email(), "password": PASSWORD}
    login = {"email": "admin\u0000@example.com", "password": PASSWORD}

    assert refused(await portal.call("POST", "/api/accounts", json=sign_up), "account_name")
    assert refused(await portal.call("POST", "/api/auth/login", json=login), "email")
    assert refused(
        await portal.call("POST", "/api/auth/login", json={**login, "email": "a@b.c", "password": "\x00"}), "password"
    )


async def test_control_characters_deep_in_a_body_are_refused_by_where_they_are(portal: AuthClient) -> None:
    admin = await sign_up_buyer(portal)
    order = {"order_id": "o-1", "items": [CERTIFICATE, {**CERTIFICATE, "description": "wildcard\u0007"}]}

    assert refused(await portal.call("POST", "/api/billing/orders", admin, json=order), "items.1.description")
    for control in ("\u0000", "\u001b", "\u007f", "\u0085", "\u009f"):
        note = {**OFFLINE, "note": f"paid{control}"}
        assert refused(await portal.call("POST", "/api/billing/credits/offline", admin, json=note), "note")
    # httpx would write the string as UTF-8, which a lone surrogate cannot be: the JSON escape itself.
    lone_surrogate = b'{"legal_name": "Acme \\ud800", "address": "1 MG Road", "state": "Karnataka"}'
    answer = await portal.client.put(
        "/api/billing/profile", content=lone_surrogate, headers={**admin.auth, "content-type": "application/json"}
    )
    assert refused(answer, "legal_name")
    assert (await portal.call("GET", "/api/billing/orders", admin)).json()["total"] == 0


async def test_control_characters_in_path_and_query_parameters_are_refused(portal: AuthClient) -> None:
    admin = await portal.sign_up()

    assert refused(await portal.call("GET", "/api/billing/orders/o%001", admin), "path.order_id")
    assert refused(await portal.call("GET", "/api/billing/payments/%C2%85", admin), "path.payment_id")
    assert refused(await portal.call("GET", "/api/invoices?order_id=o%00", admin), "query.order_id")
    assert refused(await portal.call("GET", "/api/account/audit-log?page=1&x=%1F", admin), "query.x")


async def test_tab_newline_and_carriage_return_are_text(portal: AuthClient) -> None:
    admin: User = await portal.sign_up()
    note = {**OFFLINE, "note": "Paid in two parts:\r\n\t1. NEFT\n\t2. IMPS"}
    address = {**PROFILE, "address": "1 MG Road\nBengaluru 560001"}

    assert (await portal.call("POST", "/api/billing/credits/offline", admin, json=note)).status_code == 202
    saved = await portal.call("PUT", "/api/billing/profile", admin, json=address)
    assert saved.status_code == 200 and saved.json()["address"] == address["address"], saved.text
    listed = await portal.call("GET", "/api/billing/offline-payments", admin)
    assert listed.json()["items"][0]["note"] == note["note"]
