"""IP restriction rules: semantics at login, validation, self-lockout, events, isolation."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.support.auth_client import AuthClient, User
from tests.support.harness import fetch, signed_headers

pytestmark = pytest.mark.integration

OFFICE_V4 = "203.0.113.10"
HOME_V4 = "198.51.100.20"
OFFICE_V6 = "2001:db8::10"


@pytest.fixture
async def gateway(start_system: Any) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    # The tests stand in for a trusted proxy, so they choose the client address.
    system = await start_system(services=("auth",), gateway_settings={"trusted_proxies": "127.0.0.1/32"})
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as client:
        yield client, system


def at(client: httpx.AsyncClient, ip: str) -> AuthClient:
    return AuthClient(client, client_ip=ip)


async def add_rule(admin_side: AuthClient, admin: User, **rule: Any) -> httpx.Response:
    return await admin_side.call("POST", "/api/account/ip-restrictions", admin, json=rule)


async def test_rule_for_one_user_restricts_only_that_user(gateway: Any) -> None:
    client, _ = gateway
    office = at(client, OFFICE_V4)
    admin = await office.sign_up()
    member, other = await office.add_user(admin), await office.add_user(admin)
    created = await add_rule(
        office, admin, user_id=member.id, start_ip="203.0.113.0", end_ip="203.0.113.255", description="office"
    )
    assert created.status_code == 201, created.text
    assert created.json()["user_id"] == member.id and created.json()["enabled"] is True

    assert (await office.login(member)).json()["status"] == "ok"
    refused = await at(client, HOME_V4).login(member)
    assert refused.status_code == 403 and refused.json()["code"] == "ip_not_allowed"
    assert (await at(client, HOME_V4).login(other)).json()["status"] == "ok"  # no rule applies to them


async def test_all_users_rule_and_ipv6_and_disabled_rules(gateway: Any) -> None:
    client, system = gateway
    office = at(client, OFFICE_V4)
    admin = await office.sign_up()
    member = await office.add_user(admin)
    v4 = await add_rule(office, admin, user_id=None, start_ip="203.0.113.0", end_ip="203.0.113.255")
    v6 = await add_rule(office, admin, user_id=None, start_ip="2001:db8::", end_ip="2001:db8::ffff")
    assert v4.status_code == v6.status_code == 201

    assert (await at(client, OFFICE_V6).login(member)).json()["status"] == "ok"
    assert (await at(client, "2001:db9::1").login(member)).status_code == 403
    assert (await at(client, HOME_V4).login(member)).status_code == 403

    home = await add_rule(office, admin, user_id=member.id, start_ip=HOME_V4, end_ip=HOME_V4, enabled=False)
    assert home.status_code == 201
    assert (await at(client, HOME_V4).login(member)).status_code == 403  # disabled rules are ignored
    enabled = await office.call(
        "PATCH", f"/api/account/ip-restrictions/{home.json()['id']}", admin, json={"enabled": True}
    )
    assert enabled.status_code == 200 and enabled.json()["enabled"] is True
    assert (await at(client, HOME_V4).login(member)).json()["status"] == "ok"

    listing = await office.call("GET", "/api/account/ip-restrictions", admin)
    assert listing.json()["your_ip"] == OFFICE_V4 and listing.json()["total"] == 3

    # Every change published the account's full set of enabled rules with a growing revision.
    rows = await fetch(
        system.database_urls["auth"],
        "SELECT payload FROM outbox WHERE event_type = 'auth.ip_rules.changed' ORDER BY seq",
    )
    events = [json.loads(row["payload"])["data"] for row in rows]
    assert [event["revision"] for event in events] == [1, 2, 3, 4]
    assert len(events[2]["rules"]) == 2 and len(events[3]["rules"]) == 3
    assert all(rule["enabled"] for event in events for rule in event["rules"])


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"start_ip": "203.0.113.300", "end_ip": "203.0.113.5"}, "start_ip"),
        ({"start_ip": "203.0.113.9", "end_ip": "203.0.113.1"}, "end_ip"),
        ({"start_ip": "203.0.113.1", "end_ip": "2001:db8::1"}, "end_ip"),
        ({"start_ip": "203.0.113.1", "end_ip": "203.0.113.2", "description": "x" * 256}, "description"),
        (
            {"start_ip": "203.0.113.1", "end_ip": "203.0.113.2", "user_id": "00000000-0000-0000-0000-000000000000"},
            "user_id",
        ),
        ({"end_ip": "203.0.113.2"}, "start_ip"),
        # An IPv6 zone index names an interface of one host: no client address carries it.
        ({"start_ip": "fe80::1%eth0", "end_ip": "fe80::ffff"}, "start_ip"),
        ({"start_ip": "fe80::1", "end_ip": "fe80::ffff%1"}, "end_ip"),
    ],
)
async def test_invalid_rules_are_422_naming_the_field(gateway: Any, rule: dict[str, Any], field: str) -> None:
    client, _ = gateway
    office = at(client, OFFICE_V4)
    admin = await office.sign_up()
    answer = await add_rule(office, admin, **rule)
    assert answer.status_code == 422, answer.text
    assert field in [error["field"] for error in answer.json()["errors"]]
    assert (await office.call("GET", "/api/account/ip-restrictions", admin)).json()["total"] == 0


async def test_an_address_with_a_zone_index_never_falls_inside_a_rule(gateway: Any) -> None:
    client, _ = gateway
    office = at(client, OFFICE_V4)
    admin = await office.sign_up()
    member = await office.add_user(admin)
    link_local = await add_rule(office, admin, user_id=member.id, start_ip="fe80::", end_ip="fe80::ffff")
    assert link_local.status_code == 201, link_local.text
    inside = at(client, "fe80::1")
    await inside.log_in(member)

    zoned = at(client, "fe80::1%eth0")
    # A zoned hop is garbage to the gateway: the client is the proxy that sent it (here
    # 127.0.0.1), never fe80::1; the parsers' own refusals are unit-tested (test_client_address,
    # test_auth_domain).
    assert (await client.get("/api/whoami", headers={"X-Forwarded-For": "fe80::1%eth0"})).json() == {"ip": "127.0.0.1"}
    assert (await zoned.login(member)).status_code == 403  # auth, at login
    refused = await zoned.call("GET", "/api/auth/me", member)
    assert refused.status_code == 403 and refused.json()["code"] == "ip_not_allowed"  # the gateway
    assert (await inside.call("GET", "/api/auth/me", member)).status_code == 200


async def test_a_rule_that_would_lock_out_the_administrator_needs_confirmation(gateway: Any) -> None:
    client, _ = gateway
    office = at(client, OFFICE_V4)
    admin = await office.sign_up()
    elsewhere = {"user_id": None, "start_ip": "192.0.2.1", "end_ip": "192.0.2.9"}
    refused = await add_rule(office, admin, **elsewhere)
    assert refused.status_code == 409 and refused.json()["code"] == "self_lockout"
    assert (await office.call("GET", "/api/account/ip-restrictions", admin)).json()["total"] == 0
    confirmed = await add_rule(office, admin, **elsewhere, confirm_self_lockout=True)
    assert confirmed.status_code == 201
    assert (await office.login(admin)).status_code == 403


async def test_another_accounts_users_rules_and_audit_are_404(gateway: Any) -> None:
    client, _ = gateway
    office = at(client, OFFICE_V4)
    alice, bob = await office.sign_up(), await office.sign_up()
    alices_user = await office.add_user(alice)
    rule = await add_rule(office, alice, user_id=alices_user.id, start_ip=OFFICE_V4, end_ip=OFFICE_V4)
    rule_id = rule.json()["id"]

    assert (await office.call("GET", f"/api/account/users/{alices_user.id}", bob)).status_code == 404
    assert (
        await office.call("PATCH", f"/api/account/users/{alices_user.id}", bob, json={"active": False})
    ).status_code == 404
    assert (await office.call("DELETE", f"/api/account/users/{alices_user.id}/totp", bob)).status_code == 404
    assert (
        await office.call("PATCH", f"/api/account/ip-restrictions/{rule_id}", bob, json={"enabled": False})
    ).status_code == 404
    assert (await office.call("DELETE", f"/api/account/ip-restrictions/{rule_id}", bob)).status_code == 404
    assert (
        await add_rule(office, bob, user_id=alices_user.id, start_ip=OFFICE_V4, end_ip=OFFICE_V4)
    ).status_code == 422
    bobs_users = (await office.call("GET", "/api/account/users", bob)).json()["items"]
    assert [u["email"] for u in bobs_users] == [bob.email]
    bobs_audit = (await office.call("GET", "/api/account/audit-log", bob, params={"page_size": 100})).json()["items"]
    assert all(entry["actor_id"] in (bob.id, None) for entry in bobs_audit)
    assert (await office.call("GET", "/api/account/ip-restrictions", bob)).json()["total"] == 0
    # Alice's things are untouched.
    assert (await office.call("GET", f"/api/account/users/{alices_user.id}", alice)).json()["active"] is True


async def test_users_need_an_administrator_for_account_configuration(gateway: Any) -> None:
    client, _ = gateway
    office = at(client, OFFICE_V4)
    admin = await office.sign_up()
    member = await office.add_user(admin)
    await office.log_in(member)
    policy = {"enforce_totp": False, "grace_days": 0}
    assert (await office.call("GET", "/api/account/security", member)).json() == policy
    assert (await office.call("PUT", "/api/account/security", member, json={"enforce_totp": True})).status_code == 403
    assert (await office.call("GET", "/api/account/ip-restrictions", member)).status_code == 403
    assert (await office.call("GET", "/api/account/audit-log", member)).status_code == 403


async def test_the_internal_snapshot_is_not_routed_and_answers_signed_callers(gateway: Any) -> None:
    client, system = gateway
    office = at(client, OFFICE_V4)
    admin = await office.sign_up()
    await add_rule(office, admin, user_id=None, start_ip="203.0.113.0", end_ip="203.0.113.255")
    assert (await client.get("/internal/ip-rules")).status_code == 404
    async with httpx.AsyncClient(base_url=system.urls["auth"]) as direct:
        assert (await direct.get("/internal/ip-rules")).status_code == 403
        snapshot = await direct.get("/internal/ip-rules", headers=signed_headers("GET", "/internal/ip-rules"))
    accounts = {a["account_id"]: a for a in snapshot.json()["accounts"]}
    assert accounts[admin.account_id]["revision"] == 1 and len(accounts[admin.account_id]["rules"]) == 1
