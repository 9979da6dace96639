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
from urllib.parse import urlsplit

# One line, 1.00 + 18 % GST: the seeded credits last for millions of orders.
ITEM = {"description": "DV SSL certificate, 1 year", "sac": "998319", "quantity": 1, "unit_price": "1.00"}
ORDER_TOTAL = "1.18"


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, math.ceil(fraction * len(sorted_values)) - 1))
    return float(sorted_values[index])


@dataclass(frozen=True)
class PaidOrder:
    """An order answered 201 and paid: whose it is, and when (wall clock) its answer arrived."""

    order_id: str
    token: str
    answered_at: float  # time.time(), comparable with the timestamps the services write


@dataclass
class Outcome:
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # of orders answered 201 and paid
    paid_orders: list[PaidOrder] = field(default_factory=list)  # the same orders, for their invoices
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


class Connection:
    """One keep-alive HTTP/1.1 connection, with just what this load needs.

    Not aiohttp: the load generator shares the two cores with the system under
    test, and aiohttp's client cost ≈ 0.3 ms of CPU per order there, a tenth of
    what the system spends. Writing the request's bytes and reading the answer
    by its Content-Length (or chunks) costs a fraction of that.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self.writer.write(head.encode() + b"\r\n" + body)
        try:
            status, answer_headers = _parse_head(await self.reader.readuntil(b"\r\n\r\n"))
            if answer_headers.get("transfer-encoding", "").lower() == "chunked":
                raw = await self._chunks()
            else:
                raw = await self.reader.readexactly(int(answer_headers.get("content-length", "0")))
        except BaseException:
            self.close()  # mid-answer: the connection cannot be reused
            raise
        if answer_headers.get("connection", "").lower() == "close":
            self.close()
        return status, raw

    async def _chunks(self) -> bytes:
        assert self.reader is not None
        parts = []
        while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)
        await self.reader.readuntil(b"\r\n")  # the end of the (empty) trailers
        return b"".join(parts)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    return status, headers


async def place_orders(gateway: str, tokens: Sequence[str], *, seconds: float, concurrency: int) -> Outcome:
    """Each client places one order after another (a fresh order id each) on a keep-alive connection of
    its own until the time is up; the accounts are taken in turn across all clients."""
    address = urlsplit(gateway)
    assert address.hostname is not None and address.port is not None
    path = "/api/billing/orders"
    accounts = itertools.cycle(tokens)
    outcome = Outcome()
    deadline = time.monotonic() + seconds

    async def client() -> None:
        connection = Connection(address.hostname or "", address.port or 80)
        try:
            while time.monotonic() < deadline:
                token = next(accounts)
                order_id = uuid.uuid4().hex
                body = json.dumps({"order_id": order_id, "items": [ITEM]}).encode()
                headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
                sent = time.perf_counter()
                try:
                    status, raw = await asyncio.wait_for(connection.post(path, body, headers), timeout=60)
                except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
                    outcome.answers[f"error {type(exc).__name__}"] += 1
                    if len(outcome.sample_errors) < 5:
                        outcome.sample_errors.append(repr(exc))
                    continue
                took = time.perf_counter() - sent
                if status == 201 and b'"status":"paid"' in raw:
                    outcome.latencies.append(took)
                    outcome.paid_orders.append(PaidOrder(order_id, token, time.time()))
                    outcome.answers["201 paid"] += 1
                else:
                    kind = "201 awaiting_payment" if status == 201 else str(status)
                    outcome.answers[kind] += 1
                    if len(outcome.sample_errors) < 5:
                        outcome.sample_errors.append(f"{status} {raw[:200]!r}")
        finally:
            connection.close()

    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    outcome.seconds = time.monotonic() - started
    return outcome
