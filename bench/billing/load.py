"""The load: N clients in closed loops, each placing orders through the gateway for a fixed time."""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

# One line, 1.00 + 18 % GST: the seeded credits last for millions of orders.
ITEM = {"description": "DV SSL certificate, 1 year", "sac": "998319", "quantity": 1, "unit_price": "1.00"}
ORDER_TOTAL = "1.18"


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, math.ceil(fraction * len(sorted_values)) - 1))
    return float(sorted_values[index])


@dataclass
class Outcome:
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # of orders answered 201 and paid
    answers: Counter[str] = field(default_factory=Counter)  # "201 paid", "201 awaiting_payment", "502", "error …"
    sample_errors: list[str] = field(default_factory=list)

    @property
    def paid(self) -> int:
        return len(self.latencies)

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        return {
            "orders": self.paid,
            "seconds": round(self.seconds, 3),
            "orders_per_second": self.paid / self.seconds if self.seconds else 0.0,
            "p50_ms": percentile(ordered, 0.50) * 1000,
            "p95_ms": percentile(ordered, 0.95) * 1000,
            "p99_ms": percentile(ordered, 0.99) * 1000,
            "mean_ms": statistics.fmean(ordered) * 1000 if ordered else float("nan"),
            "answers": dict(self.answers),
            "errors": sum(n for answer, n in self.answers.items() if answer != "201 paid"),
            "sample_errors": self.sample_errors[:5],
        }


async def place_orders(
    gateway: str, tokens: Sequence[str], *, seconds: float, concurrency: int, session: aiohttp.ClientSession
) -> Outcome:
    """Each client places one order after another (a fresh order id each) until the time is up;
    the accounts are taken in turn across all clients."""
    url = f"{gateway}/api/billing/orders"
    accounts = itertools.cycle(tokens)
    outcome = Outcome()
    deadline = time.monotonic() + seconds

    async def client() -> None:
        while time.monotonic() < deadline:
            token = next(accounts)
            body = json.dumps({"order_id": uuid.uuid4().hex, "items": [ITEM]})
            headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
            sent = time.perf_counter()
            try:
                async with session.post(url, data=body, headers=headers) as answer:
                    raw = await answer.read()
                    status = answer.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                outcome.answers[f"error {type(exc).__name__}"] += 1
                if len(outcome.sample_errors) < 5:
                    outcome.sample_errors.append(repr(exc))
                continue
            took = time.perf_counter() - sent
            if status == 201 and b'"status":"paid"' in raw:
                outcome.latencies.append(took)
                outcome.answers["201 paid"] += 1
            else:
                kind = "201 awaiting_payment" if status == 201 else str(status)
                outcome.answers[kind] += 1
                if len(outcome.sample_errors) < 5:
                    outcome.sample_errors.append(f"{status} {raw[:200]!r}")

    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    outcome.seconds = time.monotonic() - started
    return outcome


def new_session(concurrency: int) -> aiohttp.ClientSession:
    """One pooled client for the whole run; no cookies (bearer tokens, as an API client)."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency),
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=60),
    )
