"""A test's view of auth through the gateway: sign up, log in, enrol, call as someone."""

from __future__ import annotations

import asyncio
import io
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
import resvg_py
import zxingcpp
from PIL import Image

from tests.support.harness import TEST_INTERNAL_KEY, TEST_SECRET_KEY, fetch
from tests.support.totp_reference import totp

PASSWORD = "correct horse battery"


def new_email() -> str:
    return f"{uuid.uuid4().hex[:12]}@example.com"


def decode_qr(svg: str) -> str:
    """Render the SVG and read the QR code back, as a phone camera would.

    Only QR codes are looked for, as an authenticator app does: for about one secret in 10,000 zxing also
    finds an ITF (linear) barcode among the QR code's modules, a second result that is not there."""
    png = bytes(resvg_py.svg_to_bytes(svg_string=svg))
    image = Image.open(io.BytesIO(png)).convert("L")
    results = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(results) == 1, "exactly one QR code"
    return str(results[0].text)


async def away_from_step_boundary() -> None:
    """Wait until at least 3 s remain in the current 30 s step, so the step cannot change mid-test."""
    remaining = 30 - time.time() % 30
    if remaining < 3:
        await asyncio.sleep(remaining + 0.1)


@dataclass
class User:
    email: str
    password: str = PASSWORD
    id: str = ""
    account_id: str = ""
    access_token: str = ""
    refresh_token: str = ""
    secret: str = ""
    recovery_codes: list[str] = field(default_factory=list)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


class AuthClient:
    def __init__(self, client: httpx.AsyncClient, *, client_ip: str | None = None) -> None:
        self.client = client
        self.client_ip = client_ip

    def headers(self, user: User | None = None, **extra: str) -> dict[str, str]:
        headers = dict(extra)
        if self.client_ip:
            headers["X-Forwarded-For"] = self.client_ip
        if user is not None and user.access_token:
            headers.update(user.auth)
        return headers

    async def call(self, method: str, path: str, user: User | None = None, **kwargs: Any) -> httpx.Response:
        return await self.client.request(method, path, headers=self.headers(user), **kwargs)

    async def sign_up(self) -> User:
        admin = User(new_email())
        answer = await self.call(
            "POST", "/api/accounts", json={"account_name": "Acme", "email": admin.email, "password": admin.password}
        )
        assert answer.status_code == 201, answer.text
        admin.id, admin.account_id = answer.json()["admin"]["id"], answer.json()["account"]["id"]
        await self.log_in(admin)
        return admin

    async def add_user(self, admin: User, role: str = "user") -> User:
        member = User(new_email())
        answer = await self.call(
            "POST", "/api/account/users", admin, json={"email": member.email, "password": member.password, "role": role}
        )
        assert answer.status_code == 201, answer.text
        member.id, member.account_id = answer.json()["id"], admin.account_id
        return member

    async def login(self, user: User) -> httpx.Response:
        return await self.call("POST", "/api/auth/login", json={"email": user.email, "password": user.password})

    async def log_in(self, user: User) -> dict[str, Any]:
        """Password login that must end in a session (no TOTP involved)."""
        answer = await self.login(user)
        assert answer.status_code == 200 and answer.json()["status"] == "ok", answer.text
        self.keep_tokens(user, answer.json())
        return dict(answer.json())

    def keep_tokens(self, user: User, body: dict[str, Any]) -> None:
        user.access_token, user.refresh_token = body["access_token"], body["refresh_token"]

    async def setup(self, challenge: str) -> dict[str, Any]:
        answer = await self.call("POST", "/api/auth/totp/setup", json={"challenge": challenge})
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    async def verify(self, challenge: str, code: str) -> httpx.Response:
        return await self.call("POST", "/api/auth/totp/verify", json={"challenge": challenge, "code": code})

    async def enrol(self, user: User) -> None:
        """Log in through enrolment: setup, a code from the reference TOTP, recovery codes."""
        answer = await self.login(user)
        assert answer.json()["status"] == "totp_setup_required", answer.text
        challenge = answer.json()["challenge"]
        setup = await self.setup(challenge)
        user.secret = setup["secret"]
        await away_from_step_boundary()
        verified = await self.verify(challenge, totp(user.secret, time.time()))
        assert verified.status_code == 200, verified.text
        self.keep_tokens(user, verified.json())
        user.recovery_codes = verified.json()["recovery_codes"]

    async def enrolled_member(self, admin: User) -> User:
        """A new user of `admin`'s account, enrolled in TOTP (the account then enforces it)."""
        member = await self.add_user(admin)
        await self.enforce(admin)
        await self.enrol(member)
        return member

    async def log_in_with_code(self, user: User, code: str) -> httpx.Response:
        answer = await self.login(user)
        assert answer.json()["status"] == "totp_required", answer.text
        verified = await self.verify(answer.json()["challenge"], code)
        if verified.status_code == 200:
            self.keep_tokens(user, verified.json())
        return verified

    async def enforce(self, admin: User, on: bool = True, *, grace_days: int = 0) -> None:
        policy = {"enforce_totp": on, "grace_days": grace_days}
        answer = await self.call("PUT", "/api/account/security", admin, json=policy)
        assert answer.status_code == 200 and answer.json() == policy, answer.text


async def finance_staff(client: AuthClient, system: Any, monkeypatch: pytest.MonkeyPatch) -> User:
    """A finance staff member, created as operators do (`tollgate staff create`), enrolled in TOTP."""
    from tollgate.cli import main

    staff = User(new_email(), password="ledger balanced 2026!")
    for name, value in {
        "TOLLGATE_AUTH_DATABASE_URL": system.database_urls["auth"],
        "TOLLGATE_SECRET_KEY": TEST_SECRET_KEY,
        "TOLLGATE_INTERNAL_KEY": TEST_INTERNAL_KEY,
        "TOLLGATE_STAFF_PASSWORD": staff.password,
    }.items():
        monkeypatch.setenv(name, value)
    assert await asyncio.to_thread(main, ["staff", "create", "--email", staff.email, "--role", "finance"]) == 0
    await client.enrol(staff)
    return staff


async def days_pass(auth_database_url: str, account_id: str, days: int) -> None:
    """As if `days` had passed for the account's 2FA grace: its start and its users' creation move back
    (auth reads the wall clock; its stored timestamps are what the tests can move)."""
    back = timedelta(days=days)
    since = "UPDATE account SET totp_policy_since = totp_policy_since - $2::interval WHERE id = $1"
    await fetch(auth_database_url, since, account_id, back)
    created = 'UPDATE "user" SET created_at = created_at - $2::interval WHERE account_id = $1'
    await fetch(auth_database_url, created, account_id, back)
