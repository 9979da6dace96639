"""A number is a JSON number, a switch a JSON boolean, a date "YYYY-MM-DD": nothing is guessed from another type.

pydantic's lax mode took `"2"`, `true` and `2495.0` as a quantity of 2, 1 and
2495, `0` as `false` (`{"active": 0}` deactivated a user) and `0` as the date
1970-01-01.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.support.auth_client import AuthClient
from tests.support.billing import sign_up_buyer

pytestmark = pytest.mark.integration

CERTIFICATE = {"description": "OV SSL certificate, 1 year", "sac": "998319", "quantity": 2, "unit_price": "500.00"}
OFFLINE = {"amount": "250.00", "mode": "neft", "reference": "UTR-1", "paid_on": "2026-01-15"}


@pytest.fixture
async def portal(start_system: Any) -> AsyncIterator[AuthClient]:
    system = await start_system()
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as client:
        yield AuthClient(client)


def refused(answer: httpx.Response, field: str) -> bool:
    assert answer.status_code == 422, answer.text
    assert [error["field"] for error in answer.json()["errors"]] == [field], answer.text
    return True


async def test_a_quantity_is_a_whole_json_number(portal: AuthClient) -> None:
    admin = await sign_up_buyer(portal)
    for quantity in ("2", True, 2495.0, 2.5, None):
        order = {"items": [{**CERTIFICATE, "quantity": quantity}]}
        assert refused(await portal.call("POST", "/api/billing/orders", admin, json=order), "items.0.quantity")
    assert (await portal.call("GET", "/api/billing/orders", admin)).json()["total"] == 0

    placed = await portal.call("POST", "/api/billing/orders", admin, json={"items": [CERTIFICATE]})

    assert placed.status_code == 201 and placed.json()["lines"][0]["quantity"] == 2, placed.text


async def test_a_switch_is_a_json_boolean(portal: AuthClient) -> None:
    admin = await portal.sign_up()
    member = await portal.add_user(admin)
    rule = {"user_id": member.id, "start_ip": "10.0.0.0", "end_ip": "10.0.0.255"}

    for value in (0, 1, "true", "false", None):
        security = await portal.call("PUT", "/api/account/security", admin, json={"enforce_totp": value})
        assert refused(security, "enforce_totp")
        created = await portal.call("POST", "/api/account/ip-restrictions", admin, json={**rule, "enabled": value})
        assert refused(created, "enabled")
    for value in (0, "false", None):
        deactivated = await portal.call("PATCH", f"/api/account/users/{member.id}", admin, json={"active": value})
        assert refused(deactivated, "active")

    assert (await portal.call("GET", f"/api/account/users/{member.id}", admin)).json()["active"] is True
    assert (await portal.call("GET", "/api/account/security", admin)).json()["enforce_totp"] is False
    rule_id = (await portal.call("POST", "/api/account/ip-restrictions", admin, json=rule)).json()["id"]
    switched = await portal.call("PATCH", f"/api/account/ip-restrictions/{rule_id}", admin, json={"enabled": 0})
    assert refused(switched, "enabled")
    turned_off = await portal.call("PATCH", f"/api/account/ip-restrictions/{rule_id}", admin, json={"enabled": False})
    assert turned_off.status_code == 200 and turned_off.json()["enabled"] is False, turned_off.text


async def test_a_date_is_written_year_month_day(portal: AuthClient) -> None:
    admin = await portal.sign_up()

    for paid_on in (0, 20260115, "2026-01-15T00:00:00Z", "15/01/2026"):
        offline = {**OFFLINE, "paid_on": paid_on}
        assert refused(await portal.call("POST", "/api/billing/credits/offline", admin, json=offline), "paid_on")
    assert refused(await portal.call("GET", "/api/invoices?from=0", admin), "query.from")

    assert (await portal.call("POST", "/api/billing/credits/offline", admin, json=OFFLINE)).status_code == 202
    assert (await portal.call("GET", "/api/invoices?from=2026-01-01&to=2026-12-31", admin)).status_code == 200


async def test_money_is_still_a_decimal_string(portal: AuthClient) -> None:
    admin = await portal.sign_up()

    for amount in (100, 100.5, "100.505", "1e3", " 100.00", True):
        assert refused(
            await portal.call("POST", "/api/billing/credits/online", admin, json={"amount": amount}), "amount"
        )
