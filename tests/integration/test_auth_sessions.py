"""Sessions: refresh rotation and reuse, logout, cookies with CSRF, key rotation, staff, deactivation."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import text

from tests.support.auth_client import AuthClient, User, new_email
from tests.support.harness import TEST_INTERNAL_KEY, TEST_SECRET_KEY, fetch
from tollgate_shared.db import create_engine

pytestmark = pytest.mark.integration


async def me(client: AuthClient, user: User) -> httpx.Response:
    return await client.call("GET", "/api/auth/me", user)


async def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_session(auth: Any) -> None:
    client, _ = auth
    admin = await client.sign_up()
    first_refresh = admin.refresh_token

    rotated = await client.call("POST", "/api/auth/refresh", json={"refresh_token": first_refresh})
    assert rotated.status_code == 200 and rotated.json()["refresh_token"] != first_refresh
    client.keep_tokens(admin, rotated.json())
    assert (await me(client, admin)).status_code == 200

    reused = await client.call("POST", "/api/auth/refresh", json={"refresh_token": first_refresh})
    assert reused.status_code == 401
    # The theft is answered by ending the session: the live tokens stop working too.
    assert (await me(client, admin)).status_code == 401
    assert (
        await client.call("POST", "/api/auth/refresh", json={"refresh_token": admin.refresh_token})
    ).status_code == 401


async def test_logout_revokes_the_session(auth: Any) -> None:
    client, system = auth
    admin = await client.sign_up()
    assert (await client.call("POST", "/api/auth/logout", admin)).status_code == 204
    assert (await me(client, admin)).status_code == 401
    assert (
        await client.call("POST", "/api/auth/refresh", json={"refresh_token": admin.refresh_token})
    ).status_code == 401
    rows = await fetch(
        system.database_urls["auth"], "SELECT payload FROM outbox WHERE event_type = 'auth.session.revoked'"
    )
    assert json.loads(rows[0]["payload"])["data"]["reason"] == "logout"


async def test_browser_session_in_cookies_needs_the_csrf_token_to_change_things(auth: Any) -> None:
    client, system = auth
    admin = await client.sign_up()
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as browser:
        login = await browser.post("/api/auth/login", json={"email": admin.email, "password": admin.password})
        cookies = {c.split("=", 1)[0]: c for c in login.headers.get_list("set-cookie")}
        assert (
            "HttpOnly" in cookies["tg_access"]
            and "Secure" in cookies["tg_access"]
            and "SameSite=strict" in cookies["tg_access"]
        )
        assert "HttpOnly" in cookies["tg_refresh"] and "Path=/api/auth" in cookies["tg_refresh"]
        assert "HttpOnly" not in cookies["tg_csrf"]
        # httpx keeps Secure cookies only for https; hand them over as a browser on localhost would.
        jar = {name: value.split(";", 1)[0].split("=", 1)[1] for name, value in cookies.items()}
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}
        assert (await browser.get("/api/auth/me", headers=headers)).status_code == 200
        forged = await browser.put("/api/account/security", json={"enforce_totp": True}, headers=headers)
        assert forged.status_code == 403 and forged.json()["code"] == "csrf_failed"
        genuine = await browser.put(
            "/api/account/security", json={"enforce_totp": True}, headers={**headers, "X-CSRF-Token": jar["tg_csrf"]}
        )
        assert genuine.status_code == 200


async def test_key_rotation_keeps_old_tokens_valid_and_signs_new_ones_with_the_new_key(
    auth: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tollgate.cli import main

    client, system = auth
    admin = await client.sign_up()
    old_kid = jwt.get_unverified_header(admin.access_token)["kid"]
    monkeypatch.setenv("TOLLGATE_AUTH_DATABASE_URL", system.database_urls["auth"])
    monkeypatch.setenv("TOLLGATE_SECRET_KEY", TEST_SECRET_KEY)  # the operator's environment has the platform's secret
    monkeypatch.setenv("TOLLGATE_INTERNAL_KEY", TEST_INTERNAL_KEY)
    assert await asyncio.to_thread(main, ["auth", "rotate-keys"]) == 0
    app = system.apps["auth"]
    await app.state.auth.keys.load(app.state.runtime.session_factory)  # what the periodic reload does

    assert (await me(client, admin)).status_code == 200  # signed with the retired key
    await client.log_in(admin)
    new_kid = jwt.get_unverified_header(admin.access_token)["kid"]
    assert new_kid != old_kid
    jwks = (await client.call("GET", "/api/auth/jwks.json")).json()
    assert {old_kid, new_kid} <= {key["kid"] for key in jwks["keys"]}
    assert all(set(key) >= {"kty", "crv", "x", "kid", "alg"} and "d" not in key for key in jwks["keys"])


async def test_staff_must_enrol_totp_at_first_login_and_see_no_account(
    auth: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tollgate.cli import main

    client, system = auth
    staff = User(new_email(), password="ledger balanced 2026!")
    monkeypatch.setenv("TOLLGATE_AUTH_DATABASE_URL", system.database_urls["auth"])
    monkeypatch.setenv("TOLLGATE_ENV", "development")
    monkeypatch.setenv("TOLLGATE_STAFF_PASSWORD", staff.password)
    assert await asyncio.to_thread(main, ["staff", "create", "--email", staff.email, "--role", "finance"]) == 0

    await client.enrol(staff)
    identity = (await me(client, staff)).json()
    assert identity["role"] == "finance" and identity["account_id"] is None and identity["amr"] == ["pwd", "otp"]
    assert (await client.call("GET", "/api/account/users", staff)).status_code == 403
    assert (await client.call("GET", "/api/account/security", staff)).status_code == 403


async def test_a_deactivated_user_cannot_log_in_and_loses_their_sessions(auth: Any) -> None:
    client, _ = auth
    admin = await client.sign_up()
    member = await client.add_user(admin)
    await client.log_in(member)
    assert (
        await client.call("PATCH", f"/api/account/users/{admin.id}", admin, json={"active": False})
    ).status_code == 409
    answer = await client.call("PATCH", f"/api/account/users/{member.id}", admin, json={"active": False})
    assert answer.status_code == 200 and answer.json()["active"] is False
    assert (await me(client, member)).status_code == 401
    assert (await client.login(member)).status_code == 401


@pytest.mark.parametrize(
    ("password", "message"),
    [("short", "at least 12"), ("password1234", "common"), ("aaaaaaaaaaaaaaa", "different characters")],
)
async def test_weak_passwords_are_refused_with_422(auth: Any, password: str, message: str) -> None:
    client, _ = auth
    answer = await client.call(
        "POST", "/api/accounts", json={"account_name": "Acme", "email": new_email(), "password": password}
    )
    assert answer.status_code == 422
    errors = answer.json()["errors"]
    assert errors[0]["field"] == "password" and message in errors[0]["message"]


async def test_no_secret_reaches_events_or_logs(auth: Any, caplog: pytest.LogCaptureFixture) -> None:
    client, system = auth
    admin = await client.sign_up()
    await client.enforce(admin)
    member = await client.add_user(admin)
    await client.enrol(member)
    rows = await fetch(system.database_urls["auth"], "SELECT payload FROM outbox")
    everything = " ".join(row["payload"] for row in rows) + caplog.text
    for secret in (member.secret, member.password, admin.password, member.refresh_token, *member.recovery_codes):
        assert secret not in everything


LONG_OPEN_TRANSACTIONS = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND state LIKE 'idle in transaction%' AND now() - xact_start > interval '0.25 seconds'"
)


async def test_no_transaction_stays_open_while_the_password_is_checked(
    auth: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """argon2 takes tens of ms of CPU: a login must not hold a pooled connection in a transaction meanwhile."""
    import auth.use_cases.log_in as login_module

    client, system = auth
    user = await client.sign_up()
    check_password = login_module.verify_password
    open_during_check: list[int] = []

    async def slow_check(password_hash: str | None, password: str) -> bool:
        await asyncio.sleep(0.3)  # a slow argon2, long enough to tell the login's transaction from others
        observer = create_engine(system.database_urls["auth"])
        try:
            async with observer.connect() as connection:
                open_during_check.append(await connection.scalar(LONG_OPEN_TRANSACTIONS))
        finally:
            await observer.dispose()
        return await check_password(password_hash, password)

    monkeypatch.setattr(login_module, "verify_password", slow_check)
    await client.log_in(user)
    assert open_during_check == [0]
