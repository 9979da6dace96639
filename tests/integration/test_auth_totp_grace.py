"""Enforced 2FA with a grace period, through the gateway: log in without a code until the deadline,
enrol voluntarily meanwhile, enrolment forced after it. Time moves by moving the stored timestamps back."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support.auth_client import AuthClient, User, away_from_step_boundary, days_pass
from tests.support.harness import fetch
from tests.support.totp_reference import totp

pytestmark = pytest.mark.integration


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def users_by_email(client: AuthClient, admin: User) -> dict[str, dict[str, Any]]:
    listed = await client.call("GET", "/api/account/users", admin)
    assert listed.status_code == 200, listed.text
    return {user["email"]: user for user in listed.json()["items"]}


async def test_the_grace_is_set_read_and_validated(auth: tuple[AuthClient, Any]) -> None:
    client, _ = auth
    admin = await client.sign_up()
    await client.enforce(admin, grace_days=14)
    assert (await client.call("GET", "/api/account/security", admin)).json() == {"enforce_totp": True, "grace_days": 14}
    for wrong in (-1, 31, "7", 2.5, None):
        policy = {"enforce_totp": True, "grace_days": wrong}
        refused = await client.call("PUT", "/api/account/security", admin, json=policy)
        assert refused.status_code == 422, refused.text
        assert [error["field"] for error in refused.json()["errors"]] == ["grace_days"], refused.text
    assert (await client.call("GET", "/api/account/security", admin)).json()["grace_days"] == 14
    # Without grace_days, as before: no grace.
    answer = await client.call("PUT", "/api/account/security", admin, json={"enforce_totp": True})
    assert answer.json() == {"enforce_totp": True, "grace_days": 0}, answer.text


async def test_inside_the_grace_a_user_logs_in_without_a_code_and_is_told_the_deadline(
    auth: tuple[AuthClient, Any],
) -> None:
    client, system = auth
    admin = await client.sign_up()
    member = await client.add_user(admin)
    before = datetime.now(UTC)
    await client.enforce(admin, grace_days=7)

    login = await client.log_in(member)
    due = instant(login["totp_due_by"])
    assert before + timedelta(days=7) <= due <= datetime.now(UTC) + timedelta(days=7), login
    me = await client.call("GET", "/api/auth/me", member)
    assert me.json()["totp_due_by"] == login["totp_due_by"] and me.json()["totp_enrolled"] is False
    refreshed = await client.call("POST", "/api/auth/refresh", json={"refresh_token": member.refresh_token})
    assert refreshed.status_code == 200, refreshed.text  # the grace session renews
    client.keep_tokens(member, refreshed.json())

    listed = await users_by_email(client, admin)
    assert listed[member.email]["totp_state"] == "due" and listed[member.email]["totp_due_by"] == login["totp_due_by"]

    # Eight days later the deadline has passed: enrolment is forced, and the grace session ends at its renewal.
    await days_pass(system.database_urls["auth"], admin.account_id, 8)
    assert (await users_by_email(client, admin))[member.email]["totp_state"] == "required"
    ended = await client.call("POST", "/api/auth/refresh", json={"refresh_token": member.refresh_token})
    assert ended.status_code == 401 and ended.json()["code"] == "totp_required", ended.text
    assert (await client.login(member)).json()["status"] == "totp_setup_required"


async def test_a_user_added_after_enforcement_gets_the_whole_grace(auth: tuple[AuthClient, Any]) -> None:
    client, system = auth
    admin = await client.sign_up()
    await client.enforce(admin, grace_days=7)
    early = await client.add_user(admin)
    await days_pass(system.database_urls["auth"], admin.account_id, 6)
    late = await client.add_user(admin)

    early_due = instant((await client.log_in(early))["totp_due_by"])
    late_due = instant((await client.log_in(late))["totp_due_by"])
    assert early_due < datetime.now(UTC) + timedelta(days=2)
    assert late_due > datetime.now(UTC) + timedelta(days=6, hours=23)
    await days_pass(system.database_urls["auth"], admin.account_id, 2)
    assert (await client.login(early)).json()["status"] == "totp_setup_required"
    assert (await client.login(late)).json()["status"] == "ok"


async def test_a_user_inside_the_grace_enrols_from_their_session(auth: tuple[AuthClient, Any]) -> None:
    client, system = auth
    admin = await client.sign_up()
    member = await client.add_user(admin)
    await client.enforce(admin, grace_days=3)
    await client.log_in(member)

    setup = await client.call("POST", "/api/auth/totp/setup", member, json={})
    assert setup.status_code == 200, setup.text
    await away_from_step_boundary()
    code = totp(setup.json()["secret"], time.time())
    verified = await client.verify(setup.json()["challenge"], code)
    assert verified.status_code == 200, verified.text
    assert len(verified.json()["recovery_codes"]) >= 8 and verified.json()["totp_due_by"] is None
    client.keep_tokens(member, verified.json())
    assert (await client.verify(setup.json()["challenge"], code)).status_code == 401  # spent: no replay

    me = (await client.call("GET", "/api/auth/me", member)).json()
    assert me["totp_enrolled"] is True and me["totp_due_by"] is None and "otp" in me["amr"]
    assert (await users_by_email(client, admin))[member.email]["totp_state"] == "enrolled"
    assert (await client.login(member)).json()["status"] == "totp_required"
    rows = await fetch(system.database_urls["auth"], "SELECT action FROM audit_entry WHERE actor_id = $1", member.id)
    assert "totp.enrolled" in [row["action"] for row in rows]


async def test_changing_the_grace_is_audited_and_restarts_it(auth: tuple[AuthClient, Any]) -> None:
    client, system = auth
    admin = await client.sign_up()
    member = await client.add_user(admin)
    await client.enforce(admin, grace_days=2)
    await days_pass(system.database_urls["auth"], admin.account_id, 3)
    assert (await client.login(member)).json()["status"] == "totp_setup_required"
    await client.enforce(admin, grace_days=5)
    assert instant((await client.log_in(member))["totp_due_by"]) > datetime.now(UTC) + timedelta(days=4)
    audit = (await client.call("GET", "/api/account/audit-log", admin)).json()["items"]
    actions = [(entry["action"], entry["details"]) for entry in audit if entry["action"].startswith("security.")]
    assert actions == [
        ("security.totp_grace_changed", {"grace_days": 5}),
        ("security.totp_enforced", {"grace_days": 2}),
    ], actions


async def test_the_grace_works_on_the_embedded_default(start_system: Any) -> None:
    system = await start_system(embedded=True, services=("auth",))
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as http:
        client = AuthClient(http)
        admin = await client.sign_up()
        member = await client.add_user(admin)
        await client.enforce(admin, grace_days=7)
        due = instant((await client.log_in(member))["totp_due_by"])
        assert timedelta(days=6, hours=23) < due - datetime.now(UTC) <= timedelta(days=7)
        assert (await users_by_email(client, admin))[member.email]["totp_state"] == "due"
        await client.enforce(admin, grace_days=0)
        assert (await client.login(member)).json()["status"] == "totp_setup_required"
        assert (await users_by_email(client, admin))[member.email]["totp_state"] == "required"
