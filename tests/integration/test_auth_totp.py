"""Enforced TOTP, from sign-up to recovery codes, through the gateway."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from tests.support.auth_client import AuthClient, User, away_from_step_boundary, decode_qr
from tests.support.harness import fetch
from tests.support.totp_reference import totp

pytestmark = pytest.mark.integration


async def test_enforced_totp_enrolment_from_qr_code_to_session(auth: tuple[AuthClient, Any]) -> None:
    client, system = auth
    admin = await client.sign_up()
    await client.enforce(admin)
    member = await client.add_user(admin)

    login = await client.login(member)
    assert login.status_code == 200
    assert login.json()["status"] == "totp_setup_required" and "access_token" not in login.json()
    challenge = login.json()["challenge"]
    setup = await client.setup(challenge)
    assert decode_qr(setup["qr_svg"]) == setup["otpauth_uri"]
    assert (
        setup["otpauth_uri"].startswith("otpauth://totp/Tollgate:")
        and f"secret={setup['secret']}" in setup["otpauth_uri"]
    )
    assert "issuer=Tollgate" in setup["otpauth_uri"]
    assert (await client.setup(challenge))["secret"] == setup["secret"]  # asking again shows the same code

    await away_from_step_boundary()
    code = totp(setup["secret"], time.time())
    verified = await client.verify(challenge, code)
    assert verified.status_code == 200, verified.text
    body = verified.json()
    assert body["status"] == "ok" and len(body["recovery_codes"]) == 10 and len(set(body["recovery_codes"])) == 10
    me = await client.call("GET", "/api/auth/me", User(member.email, access_token=body["access_token"]))
    assert me.json()["totp_enrolled"] is True and me.json()["amr"] == ["pwd", "otp"]

    # The same code is refused at the next login: replay.
    member.secret = setup["secret"]
    replay = await client.log_in_with_code(member, code)
    assert replay.status_code == 401 and replay.json()["code"] == "invalid_code"

    # The seed is sealed at rest and never in an answer again.
    rows = await fetch(system.database_urls["auth"], 'SELECT totp_secret FROM "user" WHERE id = $1', member.id)
    assert setup["secret"] not in rows[0]["totp_secret"]
    assert setup["secret"] not in me.text


async def test_a_code_one_step_ahead_works_two_steps_ahead_does_not(auth: tuple[AuthClient, Any]) -> None:
    client, _ = auth
    admin = await client.sign_up()
    await client.enforce(admin)
    member = await client.add_user(admin)
    await client.enrol(member)

    await away_from_step_boundary()
    two_ahead = await client.log_in_with_code(member, totp(member.secret, time.time() + 60))
    assert two_ahead.status_code == 401
    one_ahead = await client.log_in_with_code(member, totp(member.secret, time.time() + 30))
    assert one_ahead.status_code == 200, one_ahead.text
    # After the step ahead was used, the current step's code is a replay too.
    current = await client.log_in_with_code(member, totp(member.secret, time.time()))
    assert current.status_code == 401


async def test_five_wrong_codes_kill_the_challenge(auth: tuple[AuthClient, Any]) -> None:
    client, _ = auth
    admin = await client.sign_up()
    await client.enforce(admin)
    member = await client.add_user(admin)
    await client.enrol(member)
    await away_from_step_boundary()
    good = totp(member.secret, time.time() + 30)
    wrong = "000000" if good != "000000" else "111111"

    login = await client.login(member)
    challenge = login.json()["challenge"]
    for attempt in range(5):
        answer = await client.verify(challenge, wrong)
        assert answer.status_code == 401 and answer.json()["attempts_left"] == 4 - attempt
    dead = await client.verify(challenge, good)
    assert dead.status_code == 401 and dead.json()["code"] == "invalid_challenge"


async def test_recovery_codes_work_once_each(auth: tuple[AuthClient, Any]) -> None:
    client, _ = auth
    admin = await client.sign_up()
    await client.enforce(admin)
    member = await client.add_user(admin)
    await client.enrol(member)
    first, second = member.recovery_codes[:2]

    assert (await client.log_in_with_code(member, first)).status_code == 200
    assert (await client.log_in_with_code(member, first.upper())).status_code == 401  # used
    assert (await client.log_in_with_code(member, second)).status_code == 200


async def test_reset_forces_re_enrolment_and_relaxing_stops_requiring_it(auth: tuple[AuthClient, Any]) -> None:
    client, _ = auth
    admin = await client.sign_up()
    await client.enforce(admin)
    member = await client.add_user(admin)
    await client.enrol(member)
    old_token = member.access_token

    own = await client.call("DELETE", f"/api/account/users/{admin.id}/totp", admin)
    assert own.status_code == 409  # not one's own
    reset = await client.call("DELETE", f"/api/account/users/{member.id}/totp", admin)
    assert reset.status_code == 200 and reset.json()["totp_enrolled"] is False
    assert (await client.call("GET", "/api/auth/me", User(member.email, access_token=old_token))).status_code == 401
    assert (await client.login(member)).json()["status"] == "totp_setup_required"

    await client.enforce(admin, on=False)
    relaxed = await client.login(member)
    assert relaxed.json()["status"] == "ok"
    audit = await client.call("GET", "/api/account/audit-log", admin, params={"page_size": 100})
    actions = [entry["action"] for entry in audit.json()["items"]]
    for action in (
        "security.totp_enforced",
        "security.totp_relaxed",
        "totp.enrolled",
        "totp.reset",
        "user.added",
        "login.succeeded",
    ):
        assert action in actions, action


async def test_wrong_password_and_unknown_email_get_the_same_answer_and_throttle(auth: tuple[AuthClient, Any]) -> None:
    client, system = auth
    admin = await client.sign_up()
    wrong = await client.call(
        "POST", "/api/auth/login", json={"email": admin.email, "password": "not the password at all"}
    )
    unknown = await client.call(
        "POST", "/api/auth/login", json={"email": "nobody@example.com", "password": "whatever it is"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    # Eight failures in all: the block (2 ** (8 - 5) = 8 s) outlasts a slow machine's next request.
    for _ in range(7):
        await client.call("POST", "/api/auth/login", json={"email": admin.email, "password": "not the password at all"})
    throttled = await client.call("POST", "/api/auth/login", json={"email": admin.email, "password": admin.password})
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) >= 1
    rows = await fetch(system.database_urls["auth"], "SELECT details FROM audit_entry WHERE action = 'login.failed'")
    reasons = [row["details"] for row in rows]
    assert any("invalid_credentials" in r for r in reasons) and any("throttled" in r for r in reasons)


async def test_a_user_may_enrol_voluntarily_when_it_is_not_enforced(auth: tuple[AuthClient, Any]) -> None:
    client, _ = auth
    admin = await client.sign_up()
    setup = await client.call("POST", "/api/auth/totp/setup", admin, json={})
    assert setup.status_code == 200, setup.text
    body = setup.json()
    assert decode_qr(body["qr_svg"]) == body["otpauth_uri"]
    await away_from_step_boundary()
    verified = await client.verify(body["challenge"], totp(body["secret"], time.time()))
    assert verified.status_code == 200 and len(verified.json()["recovery_codes"]) == 10
    again = await client.call("POST", "/api/auth/totp/setup", admin, json={})
    assert again.status_code == 409  # already enrolled
    assert (await client.login(admin)).json()["status"] == "totp_required"  # asked at every login from now on
    assert (await client.call("POST", "/api/auth/totp/setup", json={})).status_code == 401  # no challenge, no session


async def test_a_setup_challenge_opened_before_enrolment_dies_with_the_enrolment(auth: tuple[AuthClient, Any]) -> None:
    client, _ = auth
    admin = await client.sign_up()
    await client.enforce(admin)
    member = await client.add_user(admin)
    stale = (await client.login(member)).json()["challenge"]
    stale_secret = (await client.setup(stale))["secret"]
    never_set_up = (await client.login(member)).json()["challenge"]
    await client.enrol(member)  # with a third challenge

    await away_from_step_boundary()
    overwrite = await client.verify(stale, totp(stale_secret, time.time()))
    assert overwrite.status_code == 401 and overwrite.json()["code"] == "invalid_challenge"
    for challenge in (stale, never_set_up):
        again = await client.call("POST", "/api/auth/totp/setup", json={"challenge": challenge})
        assert again.status_code == 401 and again.json()["code"] == "invalid_challenge"
    # The enrolled secret and its recovery codes still hold.
    assert (await client.log_in_with_code(member, member.recovery_codes[0])).status_code == 200
    await away_from_step_boundary()
    assert (await client.log_in_with_code(member, totp(member.secret, time.time() + 30))).status_code == 200


async def test_of_two_setup_challenges_confirmed_at_once_only_one_enrols(auth: tuple[AuthClient, Any]) -> None:
    client, _ = auth
    admin = await client.sign_up()
    await client.enforce(admin)
    member = await client.add_user(admin)
    challenges = [(await client.login(member)).json()["challenge"] for _ in range(2)]
    secrets = [(await client.setup(challenge))["secret"] for challenge in challenges]

    await away_from_step_boundary()
    now = time.time()
    answers = await asyncio.gather(
        *(client.verify(challenge, totp(secret, now)) for challenge, secret in zip(challenges, secrets, strict=True))
    )
    assert sorted(a.status_code for a in answers) == [200, 401], [a.text for a in answers]
    winner = next(i for i, a in enumerate(answers) if a.status_code == 200)
    member.secret = secrets[winner]
    assert (await client.log_in_with_code(member, totp(member.secret, now + 30))).status_code == 200


async def test_a_reset_kills_the_challenges_opened_before_it(auth: tuple[AuthClient, Any]) -> None:
    client, _ = auth
    admin = await client.sign_up()
    await client.enforce(admin)
    member = await client.add_user(admin)
    await client.enrol(member)
    before_reset = (await client.login(member)).json()["challenge"]
    assert (await client.call("DELETE", f"/api/account/users/{member.id}/totp", admin)).status_code == 200
    await client.enrol(member)  # a new secret

    await away_from_step_boundary()
    answer = await client.verify(before_reset, totp(member.secret, time.time() + 30))
    assert answer.status_code == 401 and answer.json()["code"] == "invalid_challenge"
