"""Preparing users (and their TOTP enrolment), then logging them in for a fixed time."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import math
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyotp

from bench.auth.client import SignedClient, UnexpectedAnswer

STEP_SECONDS = 30  # RFC 6238 time step, as auth.domain.totp
SETUP_IP = "198.51.100.250"  # TEST-NET-2: documentation addresses, never routed
MAX_ERRORS = 20


def worker_ip(worker: int) -> str:
    return f"198.51.100.{worker % 240 + 1}"


def time_step(now: float) -> int:
    return int(now // STEP_SECONDS)


@dataclass
class BenchUser:
    email: str
    password: str
    secret: str = ""
    last_step: int = -1
    """The TOTP step of the last code this user spent: the service refuses it and older ones."""


@dataclass
class Population:
    password_users: list[BenchUser]
    totp_users: list[BenchUser]
    account_ids: list[str]
    seconds: dict[str, float]
    probe_token: str
    """An access token for the side probe (`GET /api/auth/me`) during the load."""


def new_password() -> str:
    # 24 random URL-safe characters: passes the policy, never a common password.
    return secrets.token_urlsafe(18)


async def _bounded(concurrency: int, jobs: Sequence[Callable[[], Awaitable[Any]]]) -> list[Any]:
    gate = asyncio.Semaphore(concurrency)

    async def one(job: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await job()

    return list(await asyncio.gather(*(one(job) for job in jobs)))


async def sign_up(client: SignedClient, name: str, email: str) -> tuple[str, str]:
    """A new account and its administrator; answers (account id, the admin's access token)."""
    password = new_password()
    created = await client.expect(
        "POST",
        "/api/accounts",
        {"account_name": name, "email": email, "password": password},
        client_ip=SETUP_IP,
        status=201,
    )
    session = await client.expect(
        "POST", "/api/auth/login", {"email": email, "password": password}, client_ip=SETUP_IP, answer_status="ok"
    )
    return str(created["account"]["id"]), str(session["access_token"])


async def add_users(
    client: SignedClient, admin_token: str, emails: Sequence[str], *, concurrency: int
) -> list[BenchUser]:
    users = [BenchUser(email, new_password()) for email in emails]

    def job(member: BenchUser) -> Callable[[], Awaitable[Any]]:
        return lambda: client.expect(
            "POST",
            "/api/account/users",
            {"email": member.email, "password": member.password, "role": "user"},
            client_ip=SETUP_IP,
            token=admin_token,
            status=201,
        )

    await _bounded(concurrency, [job(member) for member in users])
    return users


async def enrol(client: SignedClient, member: BenchUser) -> None:
    """The enforced first login: password, setup (the seed), a current code; then it is enrolled."""
    started = await client.expect(
        "POST",
        "/api/auth/login",
        {"email": member.email, "password": member.password},
        client_ip=SETUP_IP,
        answer_status="totp_setup_required",
    )
    setup = await client.expect("POST", "/api/auth/totp/setup", {"challenge": started["challenge"]}, client_ip=SETUP_IP)
    member.secret = str(setup["secret"])
    now = time.time()
    await client.expect(
        "POST",
        "/api/auth/totp/verify",
        {"challenge": started["challenge"], "code": pyotp.TOTP(member.secret).at(now)},
        client_ip=SETUP_IP,
        answer_status="ok",
    )
    member.last_step = time_step(now)


async def prepare(
    client: SignedClient, *, run_id: str, password_users: int, totp_users: int, concurrency: int
) -> Population:
    """Two accounts: one without 2FA for password-only logins, one enforcing TOTP, everyone enrolled."""
    seconds: dict[str, float] = {}
    began = time.perf_counter()
    plain_account, plain_admin = await sign_up(client, "Bench plain", f"bench-{run_id}-admin-plain@example.com")
    totp_account, totp_admin = await sign_up(client, "Bench totp", f"bench-{run_id}-admin-totp@example.com")
    plain = await add_users(
        client,
        plain_admin,
        [f"bench-{run_id}-p{i}@example.com" for i in range(password_users)],
        concurrency=concurrency,
    )
    enrolled = await add_users(
        client,
        totp_admin,
        [f"bench-{run_id}-t{i}@example.com" for i in range(totp_users)],
        concurrency=concurrency,
    )
    seconds["create_users"] = time.perf_counter() - began
    await client.expect("PUT", "/api/account/security", {"enforce_totp": True}, client_ip=SETUP_IP, token=totp_admin)
    began = time.perf_counter()

    def job(member: BenchUser) -> Callable[[], Awaitable[None]]:
        return lambda: enrol(client, member)

    await _bounded(concurrency, [job(member) for member in enrolled])
    seconds["enrol_totp"] = time.perf_counter() - began
    return Population(plain, enrolled, [plain_account, totp_account], seconds, plain_admin)


# --- measuring -----------------------------------------------------------------
@dataclass
class Outcome:
    scenario: str
    concurrency: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    """Seconds from the first request of a login to the answer that completes it."""
    login_steps: list[float] = field(default_factory=list)
    verify_steps: list[float] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    starved: int = 0
    """Times a worker found no TOTP user allowed a new code in this step (the pool was too small)."""

    def failed(self, message: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(message[:300])

    def summary(self) -> dict[str, Any]:
        elapsed = self.finished - self.started
        result: dict[str, Any] = {
            "scenario": self.scenario,
            "concurrency": self.concurrency,
            "seconds": round(elapsed, 3),
            "logins": len(self.latencies),
            "logins_per_second": round(len(self.latencies) / elapsed, 2) if elapsed > 0 else 0.0,
            **{f"{name}_ms": percentile_ms(self.latencies, q) for name, q in PERCENTILES.items()},
            "max_ms": round(max(self.latencies, default=0.0) * 1000, 1),
            "errors": self.errors,
            "error_samples": self.error_samples,
        }
        if self.verify_steps:
            result["login_request_p50_ms"] = percentile_ms(self.login_steps, 0.50)
            result["verify_request_p50_ms"] = percentile_ms(self.verify_steps, 0.50)
            result["verify_request_p95_ms"] = percentile_ms(self.verify_steps, 0.95)
            result["starved"] = self.starved
        return result


PERCENTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99}


def percentile_ms(values: Sequence[float], q: float) -> float | None:
    """Nearest rank: the smallest value with at least q of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(math.ceil(q * len(ordered)) - 1, 0)] * 1000, 1)


async def _run_workers(outcome: Outcome, worker: Callable[[int, float], Awaitable[None]]) -> Outcome:
    outcome.started = time.perf_counter()
    deadline = outcome.started + outcome.seconds
    await asyncio.gather(*(worker(number, deadline) for number in range(outcome.concurrency)))
    outcome.finished = time.perf_counter()
    return outcome


async def password_logins(
    client: SignedClient, users: Sequence[BenchUser], *, seconds: float, concurrency: int
) -> Outcome:
    """Logins that end in a session at the password: the account does not enforce 2FA."""
    outcome = Outcome("password", concurrency, seconds)
    turn = itertools.count()

    async def worker(number: int, deadline: float) -> None:
        ip = worker_ip(number)
        while time.perf_counter() < deadline and outcome.errors < MAX_ERRORS:
            member = users[next(turn) % len(users)]
            began = time.perf_counter()
            try:
                await client.expect(
                    "POST",
                    "/api/auth/login",
                    {"email": member.email, "password": member.password},
                    client_ip=ip,
                    answer_status="ok",
                )
            except (UnexpectedAnswer, OSError, TimeoutError) as exc:
                outcome.failed(repr(exc))
                continue
            outcome.latencies.append(time.perf_counter() - began)

    return await _run_workers(outcome, worker)


async def totp_logins(
    client: SignedClient, pool: collections.deque[BenchUser], *, seconds: float, concurrency: int
) -> Outcome:
    """Password, then the current code: each user at most once per 30-second step.

    The pool is a queue ordered by the step each user last spent, so its head is
    the user most likely allowed again; a user goes back to its tail after logging in.
    """
    outcome = Outcome("password+totp", concurrency, seconds)

    async def worker(number: int, deadline: float) -> None:
        ip = worker_ip(number)
        while time.perf_counter() < deadline and outcome.errors < MAX_ERRORS:
            if not pool or pool[0].last_step >= time_step(time.time()):
                outcome.starved += 1
                await asyncio.sleep(min(0.05, max(deadline - time.perf_counter(), 0)))
                continue
            member = pool.popleft()
            began = time.perf_counter()
            try:
                challenge = await client.expect(
                    "POST",
                    "/api/auth/login",
                    {"email": member.email, "password": member.password},
                    client_ip=ip,
                    answer_status="totp_required",
                )
                between = time.perf_counter()
                # What an authenticator app shows at this moment.
                now = time.time()
                await client.expect(
                    "POST",
                    "/api/auth/totp/verify",
                    {"challenge": challenge["challenge"], "code": pyotp.TOTP(member.secret).at(now)},
                    client_ip=ip,
                    answer_status="ok",
                )
            except (UnexpectedAnswer, OSError, TimeoutError) as exc:
                outcome.failed(repr(exc))
                member.last_step = time_step(time.time())  # whatever happened, not again in this step
                pool.append(member)
                continue
            finished = time.perf_counter()
            member.last_step = time_step(now)
            pool.append(member)
            outcome.latencies.append(finished - began)
            outcome.login_steps.append(between - began)
            outcome.verify_steps.append(finished - between)

    return await _run_workers(outcome, worker)


class SideProbe:
    """`GET /api/auth/me` (token check, three indexed reads, no hashing) five times a second
    during the load: how long requests that are not logins wait meanwhile."""

    def __init__(self, client: SignedClient, token: str, interval: float = 0.2) -> None:
        self.client = client
        self.token = token
        self.interval = interval
        self.latencies: list[float] = []
        self.errors = 0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            began = time.perf_counter()
            try:
                answer = await self.client.call("GET", "/api/auth/me", {}, client_ip=SETUP_IP, token=self.token)
            except (OSError, TimeoutError):
                self.errors += 1
            else:
                if answer.status == 200:
                    self.latencies.append(time.perf_counter() - began)
                else:
                    self.errors += 1
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> dict[str, Any]:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        return {
            "requests": len(self.latencies),
            "p50_ms": percentile_ms(self.latencies, 0.50),
            "p95_ms": percentile_ms(self.latencies, 0.95),
            "max_ms": round(max(self.latencies, default=0.0) * 1000, 1),
            "errors": self.errors,
        }


async def until_every_user_may_log_in(pool: Sequence[BenchUser], *, limit: float = STEP_SECONDS + 5) -> float:
    """Wait for the step after the newest code any user spent; answers the seconds waited."""
    newest = max((member.last_step for member in pool), default=-1)
    began = time.time()
    delay = (newest + 1) * STEP_SECONDS - began + 0.05
    if delay > 0:
        await asyncio.sleep(min(delay, limit))
    return time.time() - began
