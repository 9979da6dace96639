"""The lockout preview through the gateway: whom a rule change would lock out, judged by the addresses each
user logged in from in the last 30 days; it changes nothing; bad input is a 422, another account's ids a 404."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from auth.adapters.tables import audit_entry
from tests.support.auth_client import AuthClient, User
from tollgate_shared.db import create_engine

pytestmark = pytest.mark.integration

OFFICE = "203.0.113.10"
HOME = "198.51.100.20"
OFFICE_RANGE = {"start_ip": "203.0.113.0", "end_ip": "203.0.113.255"}
PREVIEW = "/api/account/ip-restrictions/preview"


@pytest.fixture(params=["distributed", "embedded"])
async def gateway(start_system: Any, request: pytest.FixtureRequest) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    # The tests stand in for a trusted proxy, so they choose the client address. Embedded: SQLite reads the
    # audit log's times back through the same grouping.
    system = await start_system(
        embedded=request.param == "embedded",
        services=("auth",),
        gateway_settings={"trusted_proxies": "127.0.0.1/32"},
    )
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as client:
        yield client, system


async def preview(side: AuthClient, admin: User, **body: Any) -> httpx.Response:
    return await side.call("POST", PREVIEW, admin, json=body)


def emails(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return sorted(entry["email"] for entry in answer.json()["locked_out"])


async def test_a_new_rule_would_lock_out_the_users_not_seen_inside_it(gateway: Any) -> None:
    client, system = gateway
    office, home = AuthClient(client, client_ip=OFFICE), AuthClient(client, client_ip=HOME)
    admin = await office.sign_up()
    remote, local, idle = await office.add_user(admin), await office.add_user(admin), await office.add_user(admin)
    await home.log_in(remote)
    await office.log_in(local)  # idle never logs in: nothing to judge them by

    answer = await preview(office, admin, action="add", **OFFICE_RANGE)
    assert answer.json() == {
        "locked_out": [
            {
                "user_id": remote.id,
                "email": remote.email,
                "last_seen_ip": HOME,
                "last_seen_at": answer.json()["locked_out"][0]["last_seen_at"],
            }
        ],
        "you_are_locked_out": False,
    }
    assert answer.json()["locked_out"][0]["last_seen_at"].endswith("Z")
    assert emails(await preview(office, admin, action="add", user_id=local.id, **OFFICE_RANGE)) == []
    assert emails(await preview(office, admin, action="add", user_id=remote.id, **OFFICE_RANGE)) == [remote.email]
    # The administrator asking from home would lock themself out, and is said to.
    from_home = await preview(home, admin, action="add", **OFFICE_RANGE)
    assert from_home.json()["you_are_locked_out"] is True and emails(from_home) == [remote.email]
    assert idle.email not in emails(from_home)

    # Nothing changed: no rule, nothing audited, nothing published.
    assert (await office.call("GET", "/api/account/ip-restrictions", admin)).json()["total"] == 0
    url = system.database_urls["auth"]
    audit = (await office.call("GET", "/api/account/audit-log", admin)).json()["items"]
    assert not [entry for entry in audit if entry["action"].startswith("ip_rule.")], audit

    # A login older than 30 days no longer counts.
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            long_ago = datetime.now(UTC) - timedelta(days=31)
            await connection.execute(
                audit_entry.update().where(audit_entry.c.actor_id == remote.id).values(created_at=long_ago)
            )
    finally:
        await engine.dispose()
    assert emails(await preview(office, admin, action="add", **OFFICE_RANGE)) == []


async def test_disabling_updating_and_deleting_rules_are_judged_as_they_would_leave_the_rules(gateway: Any) -> None:
    client, _ = gateway
    office, home = AuthClient(client, client_ip=OFFICE), AuthClient(client, client_ip=HOME)
    admin = await office.sign_up()
    remote = await office.add_user(admin)
    await home.log_in(remote)
    everyone = await office.call("POST", "/api/account/ip-restrictions", admin, json=OFFICE_RANGE)
    own = await office.call(
        "POST", "/api/account/ip-restrictions", admin, json={"user_id": remote.id, "start_ip": HOME, "end_ip": HOME}
    )
    assert everyone.status_code == own.status_code == 201
    own_id, everyone_id = own.json()["id"], everyone.json()["id"]

    assert emails(await preview(office, admin, action="disable", rule_id=own_id)) == [remote.email]
    assert emails(await preview(office, admin, action="delete", rule_id=own_id)) == [remote.email]
    moved = await preview(
        office, admin, action="update", rule_id=own_id, start_ip="198.51.100.99", end_ip="198.51.100.99"
    )
    assert emails(moved) == [remote.email]
    # Deleting the office rule leaves only remote's own rule: everyone else is unrestricted.
    deleted = await preview(office, admin, action="delete", rule_id=everyone_id)
    assert emails(deleted) == [] and deleted.json()["you_are_locked_out"] is False

    # Enabling a disabled rule is an update.
    await office.call("PATCH", f"/api/account/ip-restrictions/{own_id}", admin, json={"enabled": False})
    assert emails(await preview(office, admin, action="update", rule_id=everyone_id)) == [remote.email]
    rules = (await office.call("GET", "/api/account/ip-restrictions", admin)).json()["items"]
    assert sorted((rule["id"], rule["enabled"]) for rule in rules) == sorted([(own_id, False), (everyone_id, True)])


async def test_bad_previews_are_refused_and_another_accounts_ids_are_not_found(gateway: Any) -> None:
    client, _ = gateway
    office = AuthClient(client, client_ip=OFFICE)
    admin, stranger = await office.sign_up(), await office.sign_up()
    member = await office.add_user(admin)
    theirs = await office.call("POST", "/api/account/ip-restrictions", stranger, json=OFFICE_RANGE)
    assert theirs.status_code == 201

    def fields(answer: httpx.Response) -> list[str]:
        assert answer.status_code == 422, answer.text
        return sorted(error["field"] for error in answer.json()["errors"])

    assert fields(await preview(office, admin, action="add", start_ip="10.0.0.300", end_ip="10.0.0.1")) == ["start_ip"]
    assert fields(await preview(office, admin, action="add", start_ip="10.0.0.9", end_ip="10.0.0.1")) == ["end_ip"]
    assert fields(await preview(office, admin, action="add", start_ip="10.0.0.1", end_ip="2001:db8::1")) == ["end_ip"]
    assert fields(await preview(office, admin, action="add")) == ["end_ip", "start_ip"]
    assert fields(await preview(office, admin, action="disable")) == ["rule_id"]
    assert fields(await preview(office, admin, action="delete", rule_id=None)) == ["rule_id"]
    assert fields(await preview(office, admin, action="add", start_ip=None, end_ip="10.0.0.1")) == ["start_ip"]
    assert fields(await preview(office, admin, action="enable", rule_id=theirs.json()["id"])) == ["action"]
    assert fields(await office.call("POST", PREVIEW, admin, json={})) == ["action"]

    assert (await preview(office, admin, action="delete", rule_id=theirs.json()["id"])).status_code == 404
    assert (await preview(office, admin, action="add", user_id=stranger.id, **OFFICE_RANGE)).status_code == 404
    await office.log_in(member)
    assert (await preview(office, member, action="add", **OFFICE_RANGE)).status_code == 403
