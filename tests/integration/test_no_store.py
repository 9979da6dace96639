"""Every API answer says `Cache-Control: no-store` (DESIGN §10).

The services' answers, their problems included, and the gateway's own (its
`/api/whoami` and the problems it answers itself); not the UI's files.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.support.auth_client import AuthClient
from tests.support.billing import sign_up_buyer
from tests.support.harness import free_port_pair, wait_for

pytestmark = pytest.mark.integration

PROFILE = {"legal_name": "Acme Private Limited", "address": "1 MG Road", "state": "Karnataka"}


@pytest.fixture
async def portal(start_system: Any) -> AsyncIterator[AuthClient]:
    # Invoicing is down (nothing listens there): the gateway answers 503 for it itself.
    port = free_port_pair()[0]
    system = await start_system(
        services=("auth", "billing"),
        gateway_upstreams={"invoicing_url": f"http://127.0.0.1:{port}"},
        gateway_settings={"max_body_bytes": 4096},
    )
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as client:
        yield AuthClient(client)


@pytest.fixture
async def with_invoicing(start_system: Any) -> AsyncIterator[AuthClient]:
    system = await start_system()
    async with httpx.AsyncClient(base_url=system.gateway, timeout=20) as client:
        yield AuthClient(client)


def no_store(answer: httpx.Response) -> str:
    assert answer.headers.get_list("cache-control") == ["no-store"], (answer.request.url, dict(answer.headers))
    return str(answer.status_code)


async def test_the_services_answers_and_problems_are_not_stored(portal: AuthClient) -> None:
    admin = await sign_up_buyer(portal)
    answers = {
        "balance": await portal.call("GET", "/api/billing/balance", admin),
        "me": await portal.call("GET", "/api/auth/me", admin),
        "profile": await portal.call("PUT", "/api/billing/profile", admin, json=PROFILE),
        "login": await portal.login(admin),
        "openapi": await portal.call("GET", "/api/billing/openapi.json"),
        "not found": await portal.call("GET", "/api/billing/orders/nope", admin),
        "invalid": await portal.call("POST", "/api/billing/orders", admin, json={"items": []}),
        "not an admin's": await portal.call("GET", "/api/account/users", await member_of(portal, admin)),
        "wrong password": await portal.call("POST", "/api/auth/login", json={"email": admin.email, "password": "no"}),
    }

    statuses = {name: no_store(answer) for name, answer in answers.items()}

    assert statuses == {
        "balance": "200",
        "me": "200",
        "profile": "200",
        "login": "200",
        "openapi": "200",
        "not found": "404",
        "invalid": "422",
        "not an admin's": "403",
        "wrong password": "401",
    }


async def test_the_gateways_own_answers_and_problems_are_not_stored(portal: AuthClient) -> None:
    admin = await portal.sign_up()
    answers = {
        "whoami": await portal.call("GET", "/api/whoami"),
        "no token": await portal.call("GET", "/api/billing/balance"),
        "bad token": await portal.client.get("/api/billing/balance", headers={"Authorization": "Bearer nope"}),
        "no such api": await portal.call("GET", "/api/nothing-here", admin),
        "too large": await portal.call("POST", "/api/billing/orders", admin, content=b"{" + b" " * 5000 + b"}"),
        "service down": await portal.call("GET", "/api/invoices", admin),
    }

    statuses = {name: no_store(answer) for name, answer in answers.items()}

    assert statuses == {
        "whoami": "200",
        "no token": "401",
        "bad token": "401",
        "no such api": "404",
        "too large": "413",
        "service down": "503",
    }
    page = await portal.client.get("/")
    assert page.status_code == 200 and "no-store" not in page.headers.get("cache-control", "")


async def test_an_invoice_pdf_is_not_stored(with_invoicing: AuthClient) -> None:
    client = with_invoicing
    admin = await client.sign_up()
    assert (await client.call("PUT", "/api/billing/profile", admin, json=PROFILE)).status_code == 200
    started = await client.call("POST", "/api/billing/credits/online", admin, json={"amount": "1000.00"})
    await client.client.post(started.json()["redirect_url"], data={"card_number": "4242424242424242"})

    async def receipt() -> list[Any]:
        return list((await client.call("GET", "/api/invoices?kind=receipt", admin)).json()["items"])

    document_id = (await wait_for(receipt))[0]["id"]
    listed = await client.call("GET", f"/api/invoices/{document_id}", admin)
    pdf = await client.call("GET", f"/api/invoices/{document_id}/pdf", admin)

    assert (no_store(listed), no_store(pdf)) == ("200", "200")
    assert pdf.headers["content-type"] == "application/pdf"


async def member_of(client: AuthClient, admin: Any) -> Any:
    member = await client.add_user(admin)
    await client.log_in(member)
    return member
