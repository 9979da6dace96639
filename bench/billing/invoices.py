"""Following each paid order to its invoice: issued by when, how long after the order's answer, listable.

An order is done for its user once its invoice can be listed (`GET /api/invoices`),
so the end-to-end phases read invoicing's database for the phase's orders: how
many invoices exist when the measured window ends, when the last one appeared,
and for each order the time from its answer to its invoice's `created_at`
(written in the transaction that makes the invoice listable, a few milliseconds
before its commit; the order's answer and the invoice can race, so a lag may be
slightly negative).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import aiohttp
import asyncpg

from bench.billing import cpu
from bench.billing.load import PaidOrder, percentile
from bench.common import dsn

# An order's invoice is the document of kind invoice carrying its order_id (receipts carry none). A join
# with the ids, not `order_id = ANY($1)`: with the array a parameter, PostgreSQL compares every row with
# every id (no hashed lookup): a look at 4,000 orders in 30,000 documents took a core for 150 ms, five
# times a second, on the cores invoicing was measured on (the figures before 2026-12-05 10:50 paid it).
_INVOICES_OF = "FROM document JOIN unnest($1::text[]) AS ordered(id) ON order_id = ordered.id WHERE kind = 'invoice'"


def order_ids(orders: Sequence[PaidOrder]) -> list[str]:
    return [order.order_id for order in orders]


async def count_invoices(url: str, orders: Sequence[PaidOrder]) -> int:
    """How many of `orders` have their invoice now."""
    connection = await asyncpg.connect(dsn(url), timeout=10)
    try:
        return int(await connection.fetchval(f"SELECT count(*) {_INVOICES_OF}", order_ids(orders)))
    finally:
        await connection.close()


async def wait_for_invoices(
    url: str, orders: Sequence[PaidOrder], *, paid: bool = False, within: float = 180.0
) -> None:
    """Until every one of `orders` has its invoice (a paid one, with `paid`: both the order's events
    applied); RuntimeError after `within` seconds. One connection for the whole wait: a new one per
    look would fork a backend five times a second on the cores the figures come from."""
    query = f"SELECT count(*) {_INVOICES_OF}" + (" AND status = 'paid'" if paid else "")
    ids = order_ids(orders)
    deadline = time.monotonic() + within
    connection = await asyncpg.connect(dsn(url), timeout=10)
    try:
        while (found := int(await connection.fetchval(query, ids))) < len(ids):
            if time.monotonic() > deadline:
                kind = "a paid invoice" if paid else "an invoice"
                raise RuntimeError(f"{len(ids) - found} of {len(ids)} orders still had no {kind} after {within:.0f}s")
            await asyncio.sleep(0.2)
    finally:
        await connection.close()


async def issued_at(url: str, orders: Sequence[PaidOrder]) -> dict[str, float]:
    """Order id -> when its invoice was written (`created_at`, seconds since the epoch)."""
    connection = await asyncpg.connect(dsn(url), timeout=10)
    try:
        rows = await connection.fetch(
            f"SELECT order_id, extract(epoch FROM created_at)::float8 AS at {_INVOICES_OF}", order_ids(orders)
        )
        return {str(row["order_id"]): float(row["at"]) for row in rows}
    finally:
        await connection.close()


def lags(orders: Sequence[PaidOrder], issued: dict[str, float]) -> dict[str, float]:
    """From each order's answer to its invoice: p50, p95 and the longest, in milliseconds."""
    ordered = sorted(issued[o.order_id] - o.answered_at for o in orders if o.order_id in issued)
    return {
        "invoice_lag_p50_ms": percentile(ordered, 0.50) * 1000,
        "invoice_lag_p95_ms": percentile(ordered, 0.95) * 1000,
        "invoice_lag_max_ms": (ordered[-1] if ordered else float("nan")) * 1000,
    }


async def inbox_transactions(url: str, since: float) -> dict[str, float]:
    """Events invoicing applied since `since` (epoch seconds) and the transactions that applied them:
    the inbox stamps one batch's rows with one `handled_at`, so its distinct values count the commits."""
    connection = await asyncpg.connect(dsn(url), timeout=10)
    try:
        row = await connection.fetchrow(
            "SELECT count(*) AS events, count(DISTINCT handled_at) AS commits FROM inbox "
            "WHERE handled_at >= to_timestamp($1)",
            since,
        )
    finally:
        await connection.close()
    assert row is not None
    events, commits = int(row["events"]), int(row["commits"])
    return {"events": events, "commits": commits, "events_per_commit": events / commits if commits else 0.0}


async def rolled_back(url: str) -> int:
    """Transactions rolled back in the database so far (PostgreSQL's statistics: a backend reports
    its own within about a second of going idle). Invoicing rolls back a batch that waited too long
    for a lock, then applies its events one per transaction."""
    connection = await asyncpg.connect(dsn(url), timeout=10)
    try:
        value = await connection.fetchval(
            "SELECT xact_rollback FROM pg_stat_database WHERE datname = current_database()"
        )
        return int(value or 0)
    finally:
        await connection.close()


async def listed_through_gateway(gateway: str, orders: Sequence[PaidOrder], *, accounts: int = 5) -> dict[str, Any]:
    """`GET /api/invoices?order_id=…` through the gateway, as the account, for the last order of a few
    accounts: how many answer exactly that order's invoice."""
    latest = list({order.token: order for order in orders}.values())[:accounts]
    failures = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        for order in latest:
            headers = {"Authorization": f"Bearer {order.token}"}
            query = {"order_id": order.order_id, "kind": "invoice"}
            async with session.get(f"{gateway}/api/invoices", params=query, headers=headers) as answer:
                body = await answer.json(content_type=None) if answer.status == 200 else {}
                items = body.get("items", [])
                if answer.status != 200 or [item.get("order_id") for item in items] != [order.order_id]:
                    failures.append(f"{order.order_id}: {answer.status} {str(body)[:200]}")
    return {"checked": len(latest), "listed": len(latest) - len(failures), "failures": failures}


class InvoiceFollower:
    """One phase's orders followed to their invoices, around the measured window."""

    def __init__(self, invoicing_url: str, gateway: str) -> None:
        self.url = invoicing_url
        self.gateway = gateway
        self.rollbacks_before = 0
        self.issued_by_window_end = 0

    async def before_window(self, warmup: Sequence[PaidOrder]) -> None:
        """Until the warm-up's invoices are all issued and paid: their work is not the window's."""
        await wait_for_invoices(self.url, warmup, paid=True)
        self.rollbacks_before = await rolled_back(self.url)

    async def at_window_end(self, orders: Sequence[PaidOrder]) -> None:
        self.issued_by_window_end = await count_invoices(self.url, orders)

    async def after_window(
        self, orders: Sequence[PaidOrder], meter: cpu.Meter, *, window: tuple[float, float], system: Sequence[str]
    ) -> dict[str, Any]:
        """Until every order of the window has its invoice (the drain), then until every one is paid (both
        events applied: invoicing's whole work per order, which its CPU is counted over); then the figures.
        `system`: the processes and databases placing an order (their CPU per order, invoice included)."""
        await wait_for_invoices(self.url, orders)
        await wait_for_invoices(self.url, orders, paid=True)
        spent = await meter.spent()  # before the bench's own connections below
        issued = await issued_at(self.url, orders)
        inbox = await inbox_transactions(self.url, since=window[0])
        count = max(len(orders), 1)

        def per_invoice(*names: str) -> float:
            return sum(spent.get(n, 0.0) for n in names) * 1000 / count

        started, ended = window
        drain = max(max(issued.values(), default=ended) - ended, 0.0)
        return {
            "invoices_issued": len(issued),
            "invoices_issued_by_window_end": self.issued_by_window_end,
            "invoiced_by_window_end_share": self.issued_by_window_end / count,
            # From the window's end to the last invoice written (from `created_at`, not the polling).
            "invoice_drain_seconds": round(drain, 2),
            # An order is done for its user when its invoice is listable: the rate counting the drain.
            "invoiced_orders_per_second": len(orders) / (ended - started + drain),
            **lags(orders, issued),
            "invoicing_cpu_ms_per_invoice": per_invoice("invoicing"),
            "invoicing_postgres_cpu_ms_per_invoice": per_invoice("invoicing_postgres"),
            # The whole system per order, invoice included, from the window's start until it is paid.
            "end_to_end_cpu_ms_per_order": per_invoice(*system, "invoicing", "invoicing_postgres"),
            "invoicing_inbox": inbox,
            "invoicing_events_per_transaction": inbox["events_per_commit"],
            "invoicing_rollbacks": await rolled_back(self.url) - self.rollbacks_before,
            "invoices_listed_through_gateway": await listed_through_gateway(self.gateway, orders),
            "cpu_seconds_until_invoiced": {k: round(v, 3) for k, v in spent.items()},
        }


def log_line(result: dict[str, Any]) -> str:
    """A phase's invoices in one line of the run's log."""
    listed = result["invoices_listed_through_gateway"]
    return (
        f"    invoices: {result['invoices_issued_by_window_end']}/{result['orders']} issued at the window's end, "
        f"all {result['invoice_drain_seconds']:.1f}s later; lag p50 {result['invoice_lag_p50_ms']:.0f} ms, "
        f"p95 {result['invoice_lag_p95_ms']:.0f} ms; invoicing {result['invoicing_cores']:.2f} cores, "
        f"{result['invoicing_cpu_ms_per_invoice']:.2f} ms CPU/invoice "
        f"(+{result['invoicing_postgres_cpu_ms_per_invoice']:.2f} its postgres), "
        f"{result['invoicing_events_per_transaction']:.1f} events/transaction, {result['invoicing_rollbacks']} "
        f"rollbacks; listed through the gateway {listed['listed']}/{listed['checked']}"
    )
