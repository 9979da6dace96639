"""Failed logins and wrong TOTP codes are throttled without telling anyone which emails exist."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from auth.adapters.tables import login_throttle, metadata
from auth.adapters.throttle_store import FORGET_AFTER, count_password_failure, forget_stale_failures
from tests.support.auth_client import AuthClient, away_from_step_boundary, new_email
from tests.support.harness import DatabaseFactory
from tests.support.totp_reference import totp

pytestmark = pytest.mark.integration

WRONG_PASSWORD = "not the password at all"
# What differs between two answers for reasons of their own: when and which request.
MAX_ATTEMPTS = 16
PER_REQUEST_HEADERS = {"date", "x-request-id", "traceparent", "content-length", "retry-after"}


@pytest.fixture
async def proxied(start_system: Any) -> AsyncIterator[httpx.AsyncClient]:
    # The tests stand in for a trusted proxy, so each request may come from an address of its own.
    system = await start_system(services=("auth",), gateway_settings={"trusted_proxies": "127.0.0.1/32"})
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as client:
        yield client


def from_address(client: httpx.AsyncClient, n: int, network: str = "198.51.100") -> AuthClient:
    return AuthClient(client, client_ip=f"{network}.{n}")


async def failed_login(side: AuthClient, email: str) -> httpx.Response:
    return await side.call("POST", "/api/auth/login", json={"email": email, "password": WRONG_PASSWORD})


def wrong_code_for(secret: str) -> str:
    """A code no step within the accepted drift matches."""
    valid = {totp(secret, time.time() + drift) for drift in (-30, 0, 30)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in valid)


def comparable(answer: httpx.Response) -> tuple[int, dict[str, str], Any]:
    """Status, headers and body, without what belongs to the one request (its id, date and wait)."""
    headers = {name: value for name, value in answer.headers.items() if name not in PER_REQUEST_HEADERS}
    body = answer.json()
    body["detail"] = re.sub(r"\d+", "N", body.get("detail", ""))
    body.pop("request_id", None)
    body.pop("instance", None)
    return answer.status_code, headers, body


async def failures_until_throttled(client: httpx.AsyncClient, email: str, network: str) -> list[httpx.Response]:
    """Wrong passwords for `email`, each from an address of its own (no address is throttled), until a 429.

    The first block lasts 1 s, then 2, 4 … s: whatever the machine's speed, one of
    the attempts lands inside a block long before MAX_ATTEMPTS.
    """
    answers: list[httpx.Response] = []
    for n in range(MAX_ATTEMPTS):
        answers.append(await failed_login(from_address(client, n, network), email))
        if answers[-1].status_code == 429:
            break
    return answers


async def test_a_throttled_known_email_answers_exactly_like_an_unknown_one(proxied: httpx.AsyncClient) -> None:
    admin = await from_address(proxied, 1, "192.0.2").sign_up()
    known = await failures_until_throttled(proxied, admin.email, "198.51.100")
    unknown = await failures_until_throttled(proxied, new_email(), "203.0.113")

    assert known[-1].status_code == 429 and unknown[-1].status_code == 429, [a.status_code for a in unknown]
    assert comparable(known[-1]) == comparable(unknown[-1])
    assert int(known[-1].headers["retry-after"]) >= 1 and int(unknown[-1].headers["retry-after"]) >= 1
    refused = {comparable(answer) == comparable(unknown[0]) for answer in known[:-1] + unknown[:-1]}
    assert refused == {True} and unknown[0].status_code == 401
    assert len(known) > 5 and len(unknown) > 5  # five free attempts each


async def test_wrong_codes_are_counted_per_user_across_challenges_and_addresses(proxied: httpx.AsyncClient) -> None:
    side = from_address(proxied, 1, "192.0.2")
    admin = await side.sign_up()
    member = await side.enrolled_member(admin)

    # Someone with the password opens four challenges from four addresses first (20 attempts
    # by the challenges' own limit), then guesses on each in turn.
    challenges = [
        (from_address(proxied, n), (await from_address(proxied, n).login(member)).json()["challenge"]) for n in range(4)
    ]
    await away_from_step_boundary()
    wrong = wrong_code_for(member.secret)
    answers: list[httpx.Response] = []
    for _ in range(5):
        for address, challenge in challenges:
            if not answers or answers[-1].status_code != 429:
                answers.append(await address.verify(challenge, wrong))
    assert [a.status_code for a in answers] == [401] * 5 + [429], [a.text for a in answers]
    assert answers[-1].json()["code"] == "too_many_attempts" and int(answers[-1].headers["retry-after"]) >= 1

    # The block (30 s) holds for the right code too, on any challenge, from any address.
    address, challenge = challenges[-1]
    right = await address.verify(challenge, totp(member.secret, time.time() + 30))
    assert right.status_code == 429, right.text
    fresh = from_address(proxied, 50)
    login = await fresh.login(member)
    assert login.json()["status"] == "totp_required"  # the password step is not what wrong codes block
    assert (await fresh.verify(login.json()["challenge"], wrong)).status_code == 429


async def test_wrong_codes_do_not_count_against_the_email(proxied: httpx.AsyncClient) -> None:
    """Only someone with the password can make wrong codes; the password step must not show them."""
    side = from_address(proxied, 1, "192.0.2")
    admin = await side.sign_up()
    member = await side.enrolled_member(admin)
    await away_from_step_boundary()
    wrong = wrong_code_for(member.secret)
    for n in range(8):
        address = from_address(proxied, n)
        login = await address.login(member)
        assert login.status_code == 200, login.text
        assert (await address.verify(login.json()["challenge"], wrong)).status_code in (401, 429)

    known = await failed_login(from_address(proxied, 60), member.email)
    unknown = await failed_login(from_address(proxied, 60, "203.0.113"), new_email())
    assert known.status_code == 401 and comparable(known) == comparable(unknown)


async def test_a_session_clears_the_users_count_of_wrong_codes(proxied: httpx.AsyncClient) -> None:
    side = from_address(proxied, 1, "192.0.2")
    admin = await side.sign_up()
    member = await side.enrolled_member(admin)
    await away_from_step_boundary()
    wrong = wrong_code_for(member.secret)

    async def four_wrong_codes(first_address: int) -> list[int]:
        statuses = []
        for n in range(first_address, first_address + 4):
            address = from_address(proxied, n)
            challenge = (await address.login(member)).json()["challenge"]
            statuses.append((await address.verify(challenge, wrong)).status_code)
        return statuses

    assert await four_wrong_codes(0) == [401] * 4
    assert (await side.log_in_with_code(member, totp(member.secret, time.time() + 30))).status_code == 200
    assert await four_wrong_codes(4) == [401] * 4  # counted from zero again: none is blocked


@pytest.mark.parametrize("kind", ["postgresql", "sqlite"])
async def test_counts_past_remembering_are_purged_and_live_ones_kept(
    kind: str, databases: DatabaseFactory, tmp_path: Path
) -> None:
    """Every unknown email tried leaves a count: the ones nothing remembers any more must go."""
    engine = await databases.engine_with_tables(kind, metadata, tmp_path)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    now = datetime.now(UTC)
    try:
        long_ago = now - FORGET_AFTER - timedelta(minutes=1)
        for email, ip, when in (("old@example.com", "192.0.2.1", long_ago), ("new@example.com", "192.0.2.2", now)):
            async with sessions() as db, db.begin():
                await count_password_failure(db, email=email, ip=ip, threshold=5, now=when)
        async with sessions() as db, db.begin():
            purged = await forget_stale_failures(db, now=now)
        async with sessions() as db:
            kept = {row.updated_at for row in (await db.execute(select(login_throttle.c.updated_at))).all()}
    finally:
        await engine.dispose()
    assert purged == 2  # the old email's count and its address's
    assert kept == {now}
