"""Metrics without servers: route templates, status classes, scrape-time readers, counting on commit, the port."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker

from tests.support.asgi import request
from tests.support.scrapes import parse
from tollgate_shared.bus import Delivery, OutgoingMessage, PoisonMessage, Subscription
from tollgate_shared.bus.inprocess import InProcessBroker, InProcessBus
from tollgate_shared.bus.topology import dead_letter_queue
from tollgate_shared.db import create_engine
from tollgate_shared.edge import EdgeSignatureMiddleware
from tollgate_shared.metrics.counting import count_after_commit
from tollgate_shared.metrics.http import HttpMetrics
from tollgate_shared.metrics.listener import MetricsPortUnavailable, metrics_listener
from tollgate_shared.metrics.scrape import ScrapeReaders


def timed_app(*, refuse_unsigned: bool = False) -> tuple[FastAPI, CollectorRegistry]:
    app = FastAPI()

    @app.get("/api/billing/orders/{order_id}")
    async def get_order(order_id: str) -> dict[str, str]:
        return {"order_id": order_id}

    @app.post("/api/billing/orders")
    async def fails() -> None:
        raise RuntimeError("a bug")

    registry = CollectorRegistry()
    histogram = Histogram("duration_seconds", "d", ["service", "method", "route", "status_class"], registry=registry)
    if refuse_unsigned:
        app.add_middleware(EdgeSignatureMiddleware, key=b"k" * 32)
    app.add_middleware(HttpMetrics, service="billing", routes=app.router.routes, histogram=histogram)
    return app, registry


def count(registry: CollectorRegistry, **labels: str) -> float:
    return registry.get_sample_value("duration_seconds_count", {"service": "billing", **labels}) or 0.0


async def test_requests_are_timed_by_route_template_never_by_raw_path() -> None:
    app, registry = timed_app()
    for order_id in ("ord-1", "ord-2", "3f2a9c1e-0000-4000-8000-000000000000"):
        assert (await request(app, "GET", f"/api/billing/orders/{order_id}")).status_code == 200
    assert (await request(app, "GET", "/wp-login.php")).status_code == 404
    assert (await request(app, "POST", "/api/billing/orders")).status_code == 500
    assert (await request(app, "BREW", "/api/billing/orders/ord-1")).status_code == 405

    route = "/api/billing/orders/{order_id}"
    assert count(registry, method="GET", route=route, status_class="2xx") == 3
    assert count(registry, method="GET", route="unmatched", status_class="4xx") == 1
    assert count(registry, method="POST", route="/api/billing/orders", status_class="5xx") == 1
    assert count(registry, method="other", route=route, status_class="4xx") == 1  # methods are a fixed set
    routes = {labels["route"] for labels in _labels(registry)}
    assert routes == {route, "unmatched", "/api/billing/orders"}


async def test_an_answer_given_before_routing_still_names_its_route() -> None:
    app, registry = timed_app(refuse_unsigned=True)
    assert (await request(app, "GET", "/api/billing/orders/ord-1")).status_code == 403  # not from the gateway
    assert count(registry, method="GET", route="/api/billing/orders/{order_id}", status_class="4xx") == 1


def _labels(registry: CollectorRegistry) -> list[dict[str, str]]:
    return [sample.labels for family in registry.collect() for sample in family.samples]


async def test_readers_run_at_most_once_per_interval_and_a_failing_one_keeps_the_scrape_going() -> None:
    readers = ScrapeReaders()
    calls: list[str] = []

    async def cheap() -> None:
        calls.append("cheap")

    async def broken() -> None:
        calls.append("broken")
        raise ConnectionError("the broker is away")

    remove = readers.add("cheap", cheap, every=60)
    readers.add("broken", broken, every=0)
    await asyncio.gather(readers.read_due(), readers.read_due())  # two scrapers at once
    await readers.read_due()
    assert calls.count("cheap") == 1
    assert calls.count("broken") >= 2
    remove()
    assert len(readers._readers) == 1


async def test_a_reader_that_hangs_is_cut_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tollgate_shared.metrics.scrape.READ_TIMEOUT", 0.05)
    readers = ScrapeReaders()

    async def hangs() -> None:
        await asyncio.sleep(60)

    readers.add("hangs", hangs, every=0)
    await asyncio.wait_for(readers.read_due(), timeout=2)


async def test_counted_only_when_the_transaction_commits(tmp_path: Path) -> None:
    counter = Counter("things", "t", registry=CollectorRegistry())
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}")
    sessions = async_sessionmaker(engine)
    try:
        async with sessions() as session, session.begin():
            await session.execute(text("SELECT 1"))
            count_after_commit(session, counter)
        with pytest.raises(RuntimeError):
            async with sessions() as session, session.begin():
                count_after_commit(session, counter, 5)
                raise RuntimeError("rolled back")
    finally:
        await engine.dispose()
    assert _total(counter) == 1


def _total(counter: Counter) -> float:
    return next(
        sample.value for family in counter.collect() for sample in family.samples if sample.name.endswith("_total")
    )


def handled(queue: str, outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "tollgate_events_handled_total", {"service": queue.split(".")[0], "queue": queue, "outcome": outcome}
    )
    return value or 0.0


async def test_the_in_process_bus_counts_each_outcome_and_its_dead_letters() -> None:
    queue = "invoicing.unit-metrics"
    failures = {"m-retried": 1, "m-poison": 0}

    async def handler(delivery: Delivery) -> None:
        if delivery.message_id == "m-poison":
            raise PoisonMessage("not the contract")
        if failures.get(delivery.message_id, 0) > 0:
            failures[delivery.message_id] -= 1
            raise RuntimeError("once")

    bus = InProcessBus(InProcessBroker(), retry_delays=(0.0,))
    bus.subscribe(Subscription(queue, ("unit.#",), handler))
    await bus.start()
    before = {outcome: handled(queue, outcome) for outcome in ("ok", "retried", "dead_lettered")}
    for message_id in ("m-ok", "m-retried", "m-poison"):
        await bus.publish(OutgoingMessage(message_id, "unit.thing", b"{}"))
    assert handled(queue, "ok") - before["ok"] == 2
    assert handled(queue, "retried") - before["retried"] == 1
    assert handled(queue, "dead_lettered") - before["dead_lettered"] == 1
    assert await bus.message_counts([dead_letter_queue(queue), "ops.unrouted"]) == {dead_letter_queue(queue): 1}


async def test_the_management_port_serves_metrics_and_nothing_else() -> None:
    async with metrics_listener("127.0.0.1", 0) as url, httpx.AsyncClient(timeout=5) as client:
        answer = await client.get(url)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
        assert parse(answer.text).has("process_cpu_seconds_total")
        assert (await client.get(url.replace("/metrics", "/api/billing/balance"))).status_code == 404


async def test_a_port_in_use_is_a_settings_error_naming_the_variable() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(MetricsPortUnavailable, match="TOLLGATE_METRICS_PORT"):
            async with metrics_listener("127.0.0.1", port):
                pass


async def _ignore(_delivery: Delivery) -> None:
    return None


def test_a_service_s_counters_start_at_zero_so_the_first_event_is_a_rise() -> None:
    """A series that first appears at 1 is no rise to `rate()`: the first parked message went unseen."""
    from tollgate_shared.metrics.runtime import watch_service

    bus = InProcessBus(InProcessBroker())
    bus.subscribe(Subscription("zeroes.billing-events", ("billing.#",), _ignore))
    stop = watch_service("zeroes", bus=bus)
    try:
        for outcome in ("ok", "retried", "dead_lettered", "given_back"):
            labels = {"service": "zeroes", "queue": "zeroes.billing-events", "outcome": outcome}
            assert REGISTRY.get_sample_value("tollgate_events_handled_total", labels) == 0.0, outcome
    finally:
        stop()
    stop = watch_service("invoicing", bus=InProcessBus(InProcessBroker()))
    stop()
    for kind in ("invoice", "receipt"):
        labels = {"service": "invoicing", "kind": kind}
        assert REGISTRY.get_sample_value("tollgate_invoices_issued_total", labels) is not None, kind
