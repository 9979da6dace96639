"""Invoicing writes a batch of billing's events at once, with exactly the outcome of applying them one by one
(issue 19): through the inbox as the service runs it, on PostgreSQL and on SQLite (the embedded mode)."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from invoicing.adapters import document_store as store
from invoicing.adapters.tables import document, messaging, metadata
from invoicing.domain.document import DocumentKind
from invoicing.domain.issuing import SourceKey
from invoicing.handlers import event_handlers
from invoicing.settings import InvoicingSettings
from tests.support.harness import DatabaseFactory, fetch, wait_for
from tests.support.invoicing import offline_approval_event, order_event, top_up_event
from tests.support.settings import settings_for
from tests.support.telemetry import SPANS
from tollgate_shared import inbox
from tollgate_shared.bus import Delivery, PoisonMessage
from tollgate_shared.events import Envelope
from tollgate_shared.inbox import inbox_handler
from tollgate_shared.outbox import outbox_session_info

pytestmark = pytest.mark.integration

QUEUE = "invoicing.billing-events"
ACCOUNT = "44444444-4444-4444-8444-444444444444"
IN_MARCH = datetime(2027, 3, 31, 12, 0, tzinfo=UTC)  # FY 2026-27 in Kolkata
IN_APRIL = datetime(2027, 4, 1, 12, 0, tzinfo=UTC)  # FY 2027-28


@dataclass
class Invoicing:
    """Invoicing's database and its consumer of billing's events, as the service wires them."""

    engine: AsyncEngine
    settings: InvoicingSettings

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return async_sessionmaker(self.engine, expire_on_commit=False, info=outbox_session_info(messaging, "invoicing"))

    def consumer(self) -> Callable[[Delivery], Awaitable[None]]:
        """A replica's consumer: one transaction at a time, as invoicing runs it."""
        route = event_handlers(self.settings)[QUEUE]
        return inbox_handler(QUEUE, route, self.sessions, messaging, max_transactions=1)

    async def documents(self) -> list[dict[str, Any]]:
        """Every document as kept, by kind and number."""
        query = select(document).order_by(document.c.kind, document.c.financial_year, document.c.sequence)
        async with self.sessions() as session:
            return [dict(row) for row in (await session.execute(query)).mappings()]

    async def announced(self) -> list[tuple[str, dict[str, Any]]]:
        """The events recorded, in the order they are relayed: (type, data)."""
        query = select(messaging.outbox.c.payload).order_by(messaging.outbox.c.seq)
        async with self.sessions() as session:
            payloads = (await session.execute(query)).scalars()
            return [(event["type"], event["data"]) for event in map(json.loads, payloads)]

    async def last_numbers(self) -> dict[tuple[str, str], int]:
        async with self.sessions() as session:
            rows = await session.execute(select(document.metadata.tables["document_series"]))
            return {(row.kind, row.financial_year): row.last_number for row in rows}


async def new_invoicing(kind: str, databases: DatabaseFactory, folder: Path) -> Invoicing:
    engine = await databases.engine_with_tables(kind, metadata, folder)
    return Invoicing(engine, settings_for("invoicing"))


@pytest.fixture(params=["postgresql", "sqlite"])
async def invoicing(
    request: pytest.FixtureRequest, databases: DatabaseFactory, tmp_path: Path
) -> AsyncIterator[Invoicing]:
    found = await new_invoicing(request.param, databases, tmp_path)
    yield found
    await found.engine.dispose()


def delivery_of(event: Envelope) -> Delivery:
    return Delivery(event.id, event.type, event.to_json(), {})


async def deliver_together(handle: Callable[[Delivery], Awaitable[None]], events: list[Envelope]) -> list[Any]:
    """Deliver `events` at once (the inbox applies them as one batch); what each delivery answered."""
    return await asyncio.gather(*(handle(delivery_of(event)) for event in events), return_exceptions=True)


def issued(number: str, status: str) -> tuple[str, dict[str, Any]]:
    return "invoicing.invoice.issued", {"number": number, "status": status}


def paid(number: str) -> tuple[str, dict[str, Any]]:
    return "invoicing.invoice.paid", {"number": number}


def outline(announced: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """The events' types with their numbers (and an issued one's status): what a reader of them sees."""
    return [(kind, {key: data[key] for key in ("number", "status") if key in data}) for kind, data in announced]


async def test_placed_and_paid_in_one_batch_write_one_paid_invoice_and_announce_it_issued_then_paid(
    invoicing: Invoicing,
) -> None:
    placed = order_event("ORD-1", ACCOUNT, at=IN_MARCH)
    paid_at = IN_MARCH + timedelta(minutes=5)
    paid_event = order_event("ORD-1", ACCOUNT, paid=True, at=paid_at)

    assert await deliver_together(invoicing.consumer(), [placed, paid_event]) == [None, None]

    (kept,) = await invoicing.documents()
    assert (kept["number"], kept["sequence"], kept["status"]) == ("TGI/26-27/000001", 1, "paid")
    assert kept["paid_at"] == paid_at  # when billing says it was paid, as turning it paid later records
    assert kept["created_at"] == kept["updated_at"]  # written once, already paid
    content = json.loads(kept["content"])
    assert content["status"] == "paid" and content["payment"]["reference"] == "led-1"
    assert content["issued_on"] == "2027-03-31"  # dated by the order's placing
    assert outline(await invoicing.announced()) == [issued("TGI/26-27/000001", "due"), paid("TGI/26-27/000001")]
    assert await invoicing.last_numbers() == {("invoice", "26-27"): 1}


async def test_paid_before_placed_in_one_batch_issues_the_invoice_paid_and_the_late_placed_changes_nothing(
    invoicing: Invoicing,
) -> None:
    before = datetime.now(UTC)
    paid_event = order_event("ORD-2", ACCOUNT, paid=True, at=IN_APRIL)
    placed = order_event("ORD-2", ACCOUNT, at=IN_MARCH)

    assert await deliver_together(invoicing.consumer(), [paid_event, placed]) == [None, None]

    (kept,) = await invoicing.documents()
    assert (kept["number"], kept["status"]) == ("TGI/27-28/000001", "paid")  # dated by the paid event
    assert kept["paid_at"] >= before  # issued paid: paid from its issuing, as before batches
    assert outline(await invoicing.announced()) == [issued("TGI/27-28/000001", "paid"), paid("TGI/27-28/000001")]


async def test_a_redelivered_event_inside_a_batch_has_no_second_effect(invoicing: Invoicing) -> None:
    handle = invoicing.consumer()
    first = order_event("ORD-A", ACCOUNT, at=IN_MARCH)
    await handle(delivery_of(first))
    second = order_event("ORD-B", ACCOUNT, at=IN_MARCH)
    first_paid = order_event("ORD-A", ACCOUNT, paid=True, at=IN_MARCH)

    answers = await deliver_together(handle, [second, first, second, first_paid, first_paid])

    assert answers == [None] * 5
    kept = await invoicing.documents()
    assert [(row["source"], row["sequence"], row["status"]) for row in kept] == [
        ("ORD-A", 1, "paid"),
        ("ORD-B", 2, "due"),
    ]
    assert outline(await invoicing.announced()) == [
        issued("TGI/26-27/000001", "due"),
        issued("TGI/26-27/000002", "due"),
        paid("TGI/26-27/000001"),
    ]


async def test_many_documents_in_one_batch_are_numbered_per_series_in_event_order_without_gaps(
    invoicing: Invoicing,
) -> None:
    handle = invoicing.consumer()
    await deliver_together(handle, [order_event(f"EARLIER-{n}", ACCOUNT, at=IN_MARCH) for n in range(3)])
    events = []
    for n in range(45):  # invoices of two financial years and receipts, interleaved
        at = IN_MARCH if n % 3 else IN_APRIL
        events.append(order_event(f"ORD-{n}", ACCOUNT, at=at) if n % 5 else top_up_event(f"pay-{n}", ACCOUNT, at=at))

    assert await deliver_together(handle, events) == [None] * 45

    kept = await invoicing.documents()
    numbers = {row["source"]: (row["kind"], row["financial_year"], row["sequence"]) for row in kept}
    expected: dict[str, tuple[str, str, int]] = {f"EARLIER-{n}": ("invoice", "26-27", n + 1) for n in range(3)}
    following = {("invoice", "26-27"): 4, ("invoice", "27-28"): 1, ("receipt", "26-27"): 1, ("receipt", "27-28"): 1}
    for n in range(45):
        series = ("invoice" if n % 5 else "receipt", "26-27" if n % 3 else "27-28")
        expected[f"ORD-{n}" if n % 5 else f"pay-{n}"] = (*series, following[series])
        following[series] += 1
    assert numbers == expected
    assert await invoicing.last_numbers() == {series: number - 1 for series, number in following.items()}
    numbers_announced = [data["number"] for _, data in await invoicing.announced()]
    assert numbers_announced == [row["number"] for row in sorted(kept, key=lambda row: _event_order(row, events))]


def _event_order(row: dict[str, Any], events: list[Envelope]) -> int:
    """Where the event that issued `row` stands (the earlier batch's documents first)."""
    for index, event in enumerate(events):
        if row["source"] in (event.data.get("order_id"), event.data.get("payment_id")):
            return index
    return -1000 + row["sequence"]


async def test_each_event_of_a_batch_continues_its_producers_trace_into_the_events_it_causes(
    invoicing: Invoicing,
) -> None:
    placed, paid_event = order_event("ORD-1", ACCOUNT, at=IN_MARCH), order_event("ORD-1", ACCOUNT, paid=True)
    producers = {placed.id: "1" * 32, paid_event.id: "3" * 32}  # trace ids of the spans that published them
    handle = invoicing.consumer()
    SPANS.clear()

    await asyncio.gather(
        *(
            handle(Delivery(e.id, e.type, e.to_json(), {"traceparent": f"00-{producers[e.id]}-{'2' * 16}-01"}))
            for e in (placed, paid_event)
        )
    )

    processed = {
        span.attributes["messaging.message.id"]: span
        for span in SPANS.get_finished_spans()
        if span.name.endswith(" process") and span.attributes and span.attributes.get("tollgate.consumer") == QUEUE
    }
    assert {event_id: f"{span.context.trace_id:032x}" for event_id, span in processed.items()} == producers
    async with invoicing.sessions() as session:
        outbox = messaging.outbox.c
        rows = (await session.execute(select(outbox.event_type, outbox.traceparent).order_by(outbox.seq))).all()
    assert [(kind, traceparent.split("-")[1]) for kind, traceparent in rows] == [
        ("invoicing.invoice.issued", producers[placed.id]),
        ("invoicing.invoice.paid", producers[paid_event.id]),
    ]


async def test_a_poison_event_in_a_batch_fails_alone_and_the_rest_is_written(
    invoicing: Invoicing, caplog: pytest.LogCaptureFixture
) -> None:
    no_account = order_event("ORD-P", ACCOUNT, at=IN_MARCH).model_copy(update={"account_id": None})
    events = [
        order_event("ORD-1", ACCOUNT, at=IN_MARCH),
        no_account,
        top_up_event("pay-1", ACCOUNT, at=IN_MARCH),
        order_event("ORD-1", ACCOUNT, paid=True, at=IN_MARCH),
        offline_approval_event("off-1", ACCOUNT),
    ]
    with caplog.at_level(logging.INFO, logger="tollgate_shared.inbox"):
        answers = await deliver_together(invoicing.consumer(), events)

    assert [type(answer) for answer in answers] == [type(None), PoisonMessage, *[type(None)] * 3]
    assert "a batch of 5 failed" in caplog.text  # the batch, then each event alone
    kept = await invoicing.documents()
    assert [(row["source"], row["kind"], row["sequence"], row["status"]) for row in kept] == [
        ("ORD-1", "invoice", 1, "paid"),
        ("pay-1", "receipt", 1, "paid"),
        ("off-1", "receipt", 2, "paid"),
    ]
    assert len(await invoicing.announced()) == 4  # three issued, one paid: nothing of the undone batch


async def test_a_batch_writes_what_applying_its_events_one_by_one_writes(
    databases: DatabaseFactory, tmp_path: Path
) -> None:
    """Everything a batch can meet, in one batch and one event per transaction: the same documents, numbers,
    contents, payment times and events."""
    other = "55555555-5555-4555-8555-555555555555"
    earlier = [order_event("OLD-DUE", ACCOUNT, at=IN_MARCH), order_event("OLD-PAID", ACCOUNT, at=IN_MARCH)]
    earlier.append(order_event("OLD-PAID", ACCOUNT, paid=True, at=IN_MARCH))
    placed_twice = order_event("ORD-T", ACCOUNT, at=IN_MARCH)
    batch = [
        order_event("ORD-1", ACCOUNT, at=IN_MARCH),
        order_event("ORD-2", ACCOUNT, paid=True, at=IN_APRIL),  # paid first
        order_event("OLD-DUE", ACCOUNT, paid=True, at=IN_APRIL + timedelta(hours=1)),  # an existing one paid
        order_event("OLD-PAID", ACCOUNT, paid=True, at=IN_APRIL),  # paid again: nothing
        top_up_event("pay-1", ACCOUNT, at=IN_MARCH),
        order_event("ORD-1", other, at=IN_MARCH),  # the same order id, another account
        order_event("ORD-1", ACCOUNT, paid=True, at=IN_MARCH + timedelta(hours=2)),
        placed_twice,
        order_event("ORD-2", ACCOUNT, at=IN_MARCH),  # placed late: nothing
        offline_approval_event("off-1", other),
        order_event("ORD-T", ACCOUNT, at=IN_MARCH),  # the same order placed again (another event): nothing
        order_event("ORD-1", other, paid=True, at=IN_MARCH + timedelta(hours=3)),
        top_up_event("pay-1", ACCOUNT, at=IN_MARCH),  # the same top-up again: nothing
    ]
    paid_by_billing = {event.data["paid_at"] for event in batch if event.type == "billing.order.paid"}
    outcomes = []
    for kind, together in (("postgresql", True), ("postgresql", False), ("sqlite", True), ("sqlite", False)):
        folder = tmp_path / f"{kind}-{together}"
        folder.mkdir()
        invoicing = await new_invoicing(kind, databases, folder)
        try:
            handle = invoicing.consumer()
            for event in earlier:
                await handle(delivery_of(event))
            if together:
                assert await deliver_together(handle, batch) == [None] * len(batch)
            else:
                for event in batch:
                    await handle(delivery_of(event))
            outcomes.append(await _outcome(invoicing, paid_by_billing))
        finally:
            await invoicing.engine.dispose()

    assert outcomes[0] == outcomes[1] == outcomes[2] == outcomes[3]
    documents, announced = outcomes[0]
    assert len(documents) == 8 and len(announced) == 3 + 10


async def _outcome(
    invoicing: Invoicing, paid_by_billing: set[str]
) -> tuple[list[dict[str, Any]], list[tuple[str, dict[str, Any]]]]:
    """What was written, without what differs by nature: ids, and the time of writing (a document's paid_at
    unless an order.paid event gave it)."""
    kept = await invoicing.documents()
    ids = {row["id"]: row["number"] for row in kept}
    documents = []
    for row in kept:
        paid_at = row.pop("paid_at")
        if paid_at is not None and paid_at.isoformat().replace("+00:00", "Z") not in paid_by_billing:
            paid_at = "at writing"
        unlike = ("id", "created_at", "updated_at")
        documents.append({**{k: v for k, v in row.items() if k not in unlike}, "paid_at": paid_at})
    announced = [(kind, {**data, "invoice_id": ids[data["invoice_id"]]}) for kind, data in await invoicing.announced()]
    return documents, announced


async def test_two_replicas_on_overlapping_sources_number_without_gaps_or_duplicates(
    databases: DatabaseFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An order's placed and paid go to either replica, as a shared queue hands them out: each replica's batch
    locks sources the other's holds, in another order."""
    invoicing = await new_invoicing("postgresql", databases, tmp_path)
    replicas = [invoicing.consumer(), invoicing.consumer()]
    orders = [f"ORD-{n}" for n in range(200)]
    choose = random.Random(19)
    try:
        with caplog.at_level(logging.INFO, logger="tollgate_shared.inbox"):
            for start in range(0, len(orders), 50):  # rounds of 50 orders, a full batch on each replica
                shares: list[list[Envelope]] = [[], []]
                for order in orders[start : start + 50]:
                    placed_on = choose.randrange(2)
                    shares[placed_on].append(order_event(order, ACCOUNT, at=IN_MARCH))
                    shares[choose.randrange(2)].append(order_event(order, ACCOUNT, paid=True, at=IN_MARCH))
                for share in shares:
                    choose.shuffle(share)
                answers = await asyncio.wait_for(
                    asyncio.gather(
                        *(deliver_together(replica, share) for replica, share in zip(replicas, shares, strict=True))
                    ),
                    timeout=60,
                )
                assert answers == [[None] * len(share) for share in shares]

        kept = await invoicing.documents()
        assert sorted(row["sequence"] for row in kept) == list(range(1, 201))
        assert sorted(row["source"] for row in kept) == sorted(orders)
        assert {row["status"] for row in kept} == {"paid"}
        announced = await invoicing.announced()
        kinds = sorted(kind for kind, _ in announced)
        assert kinds == ["invoicing.invoice.issued"] * 200 + ["invoicing.invoice.paid"] * 200
        assert len({data["invoice_id"] for _, data in announced}) == 200
        assert "deadlock detected" not in caplog.text
    finally:
        await invoicing.engine.dispose()


async def test_two_replicas_locking_the_same_sources_in_other_orders_wait_in_line_instead_of_deadlocking(
    databases: DatabaseFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Waits longer than PostgreSQL's deadlock check (1 s): a circle of waits is then found and reported, not
    # ended by the batch's lock timeout and hidden by applying the batch again one event at a time.
    monkeypatch.setattr(inbox, "BATCH_LOCK_TIMEOUT", "10s")
    invoicing = await new_invoicing("postgresql", databases, tmp_path)
    url = invoicing.engine.url.render_as_string(hide_password=False)
    replicas = [invoicing.consumer(), invoicing.consumer()]
    x, y = "ORD-X", "ORD-Y"
    try:
        with caplog.at_level(logging.INFO, logger="tollgate_shared.inbox"):
            async with invoicing.sessions() as holder, holder.begin():
                # Someone holds X: both batches queue behind it with what they took before X.
                await store.lock_sources(holder, [SourceKey(ACCOUNT, DocumentKind.INVOICE, x)])
                first = [order_event(x, ACCOUNT, at=IN_MARCH), order_event(y, ACCOUNT, at=IN_MARCH)]
                second = [
                    order_event(y, ACCOUNT, paid=True, at=IN_MARCH),
                    order_event(x, ACCOUNT, paid=True, at=IN_MARCH),
                ]
                # The first in line for X is the batch that has Y after it; the second has Y's events first.
                batches = [asyncio.create_task(deliver_together(replicas[0], first))]
                await wait_for(lambda: waiting_for_locks(url, 1), timeout=10)
                batches.append(asyncio.create_task(deliver_together(replicas[1], second)))
                await wait_for(lambda: waiting_for_locks(url, 2), timeout=10)
            assert await asyncio.wait_for(asyncio.gather(*batches), timeout=30) == [[None, None], [None, None]]

        assert "failed" not in caplog.text  # each batch in one transaction: none undone
        kept = await invoicing.documents()
        assert sorted((row["source"], row["status"]) for row in kept) == [(x, "paid"), (y, "paid")]
        assert sorted(row["sequence"] for row in kept) == [1, 2]
    finally:
        await invoicing.engine.dispose()


async def waiting_for_locks(url: str, sessions: int) -> bool:
    """Whether `sessions` sessions of the database wait for a lock."""
    rows = await fetch(
        url,
        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )
    return int(rows[0]["n"]) == sessions
