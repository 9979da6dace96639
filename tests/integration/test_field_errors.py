"""A 422 through the gateway names every wrong field of the request at once, in the words a person uses."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from tests.support.auth_client import AuthClient, new_email
from tests.support.billing import submit

pytestmark = pytest.mark.integration


def messages(answer: Any) -> dict[str, str]:
    assert answer.status_code == 422, answer.text
    return {error["field"]: error["message"] for error in answer.json()["errors"]}


async def test_sign_up_names_the_name_the_email_and_a_weak_password_at_once(office: tuple[AuthClient, Any]) -> None:
    client, _ = office
    answer = await client.call(
        "POST", "/api/accounts", json={"account_name": "", "email": "nobody", "password": "short"}
    )
    assert messages(answer) == {
        "account_name": "must be filled in",
        "email": "must be an email address, such as name@example.com",
        "password": "must be at least 12 characters",
    }
    email = new_email()
    common = await client.call(
        "POST", "/api/accounts", json={"account_name": "", "email": email, "password": "password1234"}
    )
    assert set(messages(common)) == {"account_name", "password"}  # the password's policy is not left for later


async def test_an_ip_rule_names_both_wrong_addresses_and_the_unknown_user(office: tuple[AuthClient, Any]) -> None:
    client, _ = office
    admin = await client.sign_up()
    path = "/api/account/ip-restrictions"
    both = await client.call("POST", path, admin, json={"start_ip": "", "end_ip": "10.0.0"})
    assert messages(both) == {
        "start_ip": "must be filled in",
        "end_ip": "must be an IPv4 address (203.0.113.5) or an IPv6 address (2001:db8::5)",
    }
    lower = await client.call("POST", path, admin, json={"start_ip": "10.0.0.9", "end_ip": "10.0.0.1"})
    assert messages(lower) == {"end_ip": "must not be lower than the start address"}
    stranger = "00000000-0000-0000-0000-000000000000"
    with_user = await client.call(
        "POST", path, admin, json={"start_ip": "10.0.0.1", "end_ip": "::1", "user_id": stranger}
    )
    # the user is looked up in the account once the addresses are right (the portal offers only its users)
    assert set(messages(with_user)) == {"end_ip"}
    unknown = await client.call(
        "POST", path, admin, json={"start_ip": "10.0.0.1", "end_ip": "10.0.0.2", "user_id": stranger}
    )
    assert messages(unknown) == {"user_id": "is not a user of this account"}
    listing = await client.call("GET", path, admin)
    assert listing.json()["items"] == []  # nothing was saved


async def test_an_offline_top_up_names_every_wrong_field_at_once(office: tuple[AuthClient, Any]) -> None:
    client, _ = office
    admin = await client.sign_up()
    tomorrow = str(date.today() + timedelta(days=2))
    answer = await submit(client, admin, amount="12.345", reference=" - ", paid_on=tomorrow, mode="cash")
    found = messages(answer)
    assert set(found) == {"amount", "reference", "paid_on", "mode"}
    assert found["paid_on"].startswith("must not be in the future (today is ")
    assert found["reference"] == "must contain letters or digits"
    for message in found.values():
        assert "should" not in message and "Input" not in message, message
    assert [entry["type"] for entry in answer.json()["errors"]]  # API clients keep each error's type
    listing = await client.call("GET", "/api/billing/offline-payments", admin)
    assert listing.json()["total"] == 0


async def test_a_billing_profile_names_every_wrong_field_at_once(office: tuple[AuthClient, Any]) -> None:
    client, _ = office
    admin = await client.sign_up()
    body = {"legal_name": "", "address": "1 MG Road", "state": "Atlantis", "gstin": "29AAACT1234A1ZY"}
    answer = await client.call("PUT", "/api/billing/profile", admin, json=body)
    assert messages(answer) == {
        "legal_name": "must be filled in",
        "state": "is not an Indian state or union territory",
        "gstin": "has a wrong check character",
    }
    other_state = await client.call(
        "PUT",
        "/api/billing/profile",
        admin,
        json={**body, "legal_name": "Acme", "state": "Maharashtra", "gstin": "29AAACT1234A1ZX"},
    )
    assert messages(other_state) == {"gstin": "does not belong to the state of the address"}
    assert (await client.call("GET", "/api/billing/profile", admin)).json()["configured"] is False
