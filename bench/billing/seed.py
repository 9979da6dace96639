"""Setting up: accounts signed up through the gateway, credited through the finance approval path.

Credits arrive as they do in production: each account's administrator submits
an offline payment (`POST /api/billing/credits/offline`), and the bench plays
the finance approval service, publishing `finance.offline_payment.decided`
with its broker login as the AMQP `user_id` (billing's
`TOLLGATE_FINANCE_BROKER_USER` is set to that login). Nothing is written to
billing's database directly.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any

import aio_pika
import aiohttp

from bench.billing.stack import query_value


class SetupFailed(Exception):
    """A step of the setup answered something it never answers when all is well."""


# What every account's billing profile says: within the seller's state, no GSTIN.
PROFILE = {"legal_name": "", "address": "1 MG Road, Bengaluru", "state": "Karnataka", "gstin": None}


@dataclass
class Account:
    id: str
    email: str
    password: str
    token: str


async def _bounded(concurrency: int, jobs: Sequence[Callable[[], Awaitable[Any]]]) -> list[Any]:
    gate = asyncio.Semaphore(concurrency)

    async def one(job: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await job()

    return list(await asyncio.gather(*(one(job) for job in jobs)))


async def _call(
    session: aiohttp.ClientSession, method: str, url: str, body: dict[str, Any], *, status: int, token: str = ""
) -> dict[str, Any]:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    async with session.request(method, url, data=json.dumps(body), headers=headers) as answer:
        raw = await answer.read()
        if answer.status != status:
            raise SetupFailed(f"{method} {url}: wanted {status}, got {answer.status} {raw[:300]!r}")
        parsed: dict[str, Any] = json.loads(raw)
        return parsed


async def sign_up(session: aiohttp.ClientSession, gateway: str, number: int) -> Account:
    email = f"bench-billing-{secrets.token_hex(6)}@example.com"
    password = secrets.token_urlsafe(18)
    body = {"account_name": f"Bench {number}", "email": email, "password": password}
    created = await _call(session, "POST", f"{gateway}/api/accounts", body, status=201)
    login = await _call(
        session, "POST", f"{gateway}/api/auth/login", {"email": email, "password": password}, status=200
    )
    if login.get("status") != "ok":
        raise SetupFailed(f"login of {email}: {login}")
    token = str(login["access_token"])
    # An order needs the account's billing profile (legal name, address, state).
    await _call(
        session,
        "PUT",
        f"{gateway}/api/billing/profile",
        {**PROFILE, "legal_name": body["account_name"]},
        status=200,
        token=token,
    )
    return Account(str(created["account"]["id"]), email, password, token)


async def sign_up_accounts(gateway: str, count: int, *, concurrency: int = 4) -> list[Account]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        jobs = [lambda n=n: sign_up(session, gateway, n) for n in range(count)]
        return await _bounded(concurrency, jobs)


async def credit_accounts(
    gateway: str,
    amqp_url: str,
    billing_database_url: str,
    accounts: Sequence[Account],
    amount: Decimal,
    *,
    within: float = 180.0,
) -> float:
    """Submit one offline payment per account, approve each as the finance service; answer the seconds it took."""
    from tollgate_shared.events import new_event
    from tollgate_shared.events.models import OfflinePaymentDecided

    started = time.monotonic()
    today = datetime.now(UTC).date().isoformat()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:

        async def submit(account: Account) -> str:
            body = {"amount": str(amount), "mode": "neft", "reference": f"BENCH-{secrets.token_hex(6)}"}
            answer = await _call(
                session,
                "POST",
                f"{gateway}/api/billing/credits/offline",
                {**body, "paid_on": today},
                status=202,
                token=account.token,
            )
            return str(answer["id"])

        payment_ids = await _bounded(8, [partial(submit, a) for a in accounts])
    async with await aio_pika.connect(amqp_url, timeout=10) as connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange("tollgate.events")
        user = connection.url.user
        for payment_id in payment_ids:
            decided = OfflinePaymentDecided(offline_payment_id=payment_id, decision="approve", decided_by="bench")
            event = new_event(decided, source="finance")
            message = aio_pika.Message(
                event.to_json(), message_id=event.id, user_id=user, delivery_mode=aio_pika.DeliveryMode.PERSISTENT
            )
            await exchange.publish(message, routing_key=event.type)
    wanted = len(accounts)
    deadline = time.monotonic() + within
    while True:
        credited = await query_value(
            billing_database_url,
            "SELECT count(*) FROM offline_payment WHERE status = 'approved' AND id = ANY($1::text[])",
            payment_ids,
        )
        if credited == wanted:
            return time.monotonic() - started
        if time.monotonic() > deadline:
            raise SetupFailed(f"only {credited} of {wanted} offline payments approved within {within:.0f}s")
        await asyncio.sleep(0.5)
