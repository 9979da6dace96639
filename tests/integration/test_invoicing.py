"""Invoicing against the real PostgreSQL and RabbitMQ: documents from billing's events, numbers, PDFs."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aio_pika
import httpx
import pytest
from pypdf import PdfReader

from invoicing.handlers import ASKS
from invoicing.use_cases.issue_documents import issue_documents
from tests.support.auth_client import AuthClient, User
from tests.support.billing import sign_up_buyer
from tests.support.harness import fetch, wait_for
from tests.support.invoicing import ITEM, KARNATAKA_GSTIN, invoice_of, order_event, valid_gstin
from tollgate_shared.events import Envelope

pytestmark = pytest.mark.integration

MAHARASHTRA_GSTIN = "27ABCDE1234F1Z9"


@pytest.fixture
async def system(start_system: Any) -> AsyncIterator[tuple[AuthClient, Any]]:
    running = await start_system(services=("auth", "billing", "invoicing"))
    async with httpx.AsyncClient(base_url=running.gateway, timeout=20) as client:
        yield AuthClient(client), running


async def document(client: AuthClient, user: User, document_id: str) -> dict[str, Any]:
    answer = await client.call("GET", f"/api/invoices/{document_id}", user)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def pay_online(client: AuthClient, user: User, order_id: str) -> None:
    started = await client.call("POST", f"/api/billing/orders/{order_id}/pay", user, json={"method": "online"})
    page = started.json()["payment"]["redirect_url"]
    assert (await client.client.post(page, data={"card_number": "4242424242424242"})).status_code == 303


async def test_an_order_gets_an_intra_state_invoice_due_then_paid_and_its_pdf(system: Any) -> None:
    client, running = system
    admin = await client.sign_up()
    await valid_gstin(client, admin, "Karnataka", KARNATAKA_GSTIN)
    placed = await client.call("POST", "/api/billing/orders", admin, json={"order_id": "ORD-7", "items": [ITEM]})
    assert placed.json()["status"] == "awaiting_payment"

    due = await invoice_of(client, admin, "ORD-7", "due")
    assert due["kind"] == "invoice" and due["total"] == "5900.00"
    assert due["number"].startswith("TGI/") and len(due["number"]) <= 16
    content = (await document(client, admin, due["id"]))["document"]
    (line,) = content["lines"]
    assert (line["cgst"], line["sgst"], line["igst"]) == ("450.00", "450.00", "0.00")
    assert (line["cgst_rate"], line["igst_rate"]) == ("9", "0")
    assert content["buyer"]["gstin"].startswith("29ABCDE") and content["seller"]["state_code"] == "29"
    assert content["total_in_words"] == "Rupees Five Thousand Nine Hundred Only"
    assert content["payment"] is None

    await pay_online(client, admin, "ORD-7")
    paid = await invoice_of(client, admin, "ORD-7", "paid")
    assert paid["id"] == due["id"] and paid["number"] == due["number"]  # the same document, now paid
    payment = (await document(client, admin, paid["id"]))["document"]["payment"]
    assert payment["method"] == "online (card)" and payment["reference"].startswith("ch_sandbox_")

    pdf = await client.call("GET", f"/api/invoices/{paid['id']}/pdf", admin)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == f'attachment; filename="{paid["number"].replace("/", "-")}.pdf"'
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    for expected in (paid["number"], content["buyer"]["gstin"], content["seller"]["gstin"], ITEM["description"]):
        assert expected in text, expected
    assert "Five Thousand Nine Hundred" in text and payment["reference"] in text
    again = await client.call("GET", f"/api/invoices/{paid['id']}/pdf", admin)
    assert again.content == pdf.content and again.headers["etag"] == pdf.headers["etag"]
    unchanged = await client.client.get(
        f"/api/invoices/{paid['id']}/pdf", headers={**client.headers(admin), "If-None-Match": pdf.headers["etag"]}
    )
    assert unchanged.status_code == 304 and not unchanged.content
    # Paying online credited the wallet first: a receipt for that advance, then the invoice paid from it.
    events = await fetch(running.database_urls["invoicing"], "SELECT event_type FROM outbox ORDER BY created_at")
    assert sorted(e["event_type"] for e in events) == ["invoicing.invoice.issued"] * 2 + ["invoicing.invoice.paid"]
    kinds = (await client.call("GET", "/api/invoices", admin)).json()["items"]
    assert sorted(k["kind"] for k in kinds) == ["invoice", "receipt"]


async def test_an_inter_state_buyer_pays_igst_and_a_top_up_gets_a_receipt(system: Any) -> None:
    client, _ = system
    admin = await client.sign_up()
    await valid_gstin(client, admin, "Maharashtra", MAHARASHTRA_GSTIN)
    await client.call("POST", "/api/billing/orders", admin, json={"order_id": "ORD-8", "items": [ITEM]})
    due = await invoice_of(client, admin, "ORD-8", "due")
    content = (await document(client, admin, due["id"]))["document"]
    assert (content["totals"]["cgst"], content["totals"]["igst"]) == ("0.00", "900.00")
    assert content["lines"][0]["igst_rate"] == "18" and content["place_of_supply"] == "Maharashtra (27)"

    started = await client.call("POST", "/api/billing/credits/online", admin, json={"amount": "1234.50"})
    await client.client.post(started.json()["redirect_url"], data={"card_number": "4242424242424242"})

    async def receipt() -> bool:
        items = (await client.call("GET", "/api/invoices?kind=receipt", admin)).json()["items"]
        return len(items) == 1

    await wait_for(receipt, timeout=20)
    (summary,) = (await client.call("GET", "/api/invoices?kind=receipt", admin)).json()["items"]
    assert summary["number"].startswith("TGR/") and summary["status"] == "paid" and summary["order_id"] is None
    voucher = (await document(client, admin, summary["id"]))["document"]
    assert voucher["title"] == "Receipt Voucher"
    assert voucher["total_in_words"] == "Rupees One Thousand Two Hundred Thirty Four and Fifty Paise Only"
    listed = (await client.call("GET", "/api/invoices", admin)).json()
    assert listed["total"] == 2 and listed["items"][0]["kind"] in ("invoice", "receipt")


async def publish(amqp_url: str, *events: Envelope) -> None:
    async with await aio_pika.connect(amqp_url) as connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange("tollgate.events")
        for event in events:
            message = aio_pika.Message(
                event.to_json(), message_id=event.id, delivery_mode=aio_pika.DeliveryMode.PERSISTENT
            )
            await exchange.publish(message, routing_key=event.type)


async def test_duplicates_and_paid_before_placed_give_one_paid_invoice(start_system: Any, amqp_url: str) -> None:
    running = await start_system(services=("auth", "invoicing"))
    url = running.database_urls["invoicing"]
    account = "11111111-1111-4111-8111-111111111111"
    placed, paid = order_event("ORD-X", account), order_event("ORD-X", account, paid=True)
    # paid arrives first, then placed, then both again (redelivered as new messages with the same ids)
    await publish(amqp_url, paid, placed, paid, placed)

    async def settled() -> bool:
        handled = await fetch(url, "SELECT count(*) AS n FROM inbox")
        return int(handled[0]["n"]) == 2

    await wait_for(settled, timeout=20)
    await asyncio.sleep(0.5)
    rows = await fetch(url, "SELECT number, status, sequence FROM document")
    assert [(r["status"], r["sequence"]) for r in rows] == [("paid", 1)]
    series = await fetch(url, "SELECT last_number FROM document_series")
    assert [s["last_number"] for s in series] == [1]  # nothing allocated and lost
    events = await fetch(url, "SELECT event_type FROM outbox ORDER BY created_at")
    assert [e["event_type"] for e in events] == ["invoicing.invoice.issued", "invoicing.invoice.paid"]


async def test_placed_and_paid_issued_at_once_give_one_invoice_without_a_retry(start_system: Any) -> None:
    """The second issuer waits for the first and finds its document: no unique violation, no lost number."""
    running = await start_system(services=("auth", "invoicing"))
    app = running.apps["invoicing"]
    factory, settings = app.state.runtime.session_factory, app.state.runtime.settings
    url = running.database_urls["invoicing"]
    account = "33333333-3333-4333-8333-333333333333"

    async with factory() as first, first.begin():
        await issue_documents(first, [order_event("ORD-RACE", account)], asks=ASKS, settings=settings)

        async def pay() -> None:
            async with factory() as second, second.begin():
                paid = order_event("ORD-RACE", account, paid=True)
                await issue_documents(second, [paid], asks=ASKS, settings=settings)

        paying = asyncio.create_task(pay())

        async def waiting_for_the_first() -> bool:
            rows = await fetch(
                url,
                "SELECT count(*) AS n FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            return int(rows[0]["n"]) == 1

        await wait_for(waiting_for_the_first, timeout=10)
        assert not paying.done()
    await paying  # raised IntegrityError (one_document_per_source) when both checked before either inserted

    rows = await fetch(url, "SELECT status, sequence FROM document")
    assert [(r["status"], r["sequence"]) for r in rows] == [("paid", 1)]
    series = await fetch(url, "SELECT last_number FROM document_series")
    assert [s["last_number"] for s in series] == [1]


async def test_concurrent_orders_are_numbered_without_gaps_and_the_year_rolls_over(start_system: Any) -> None:
    running = await start_system(services=("auth", "invoicing"))
    app = running.apps["invoicing"]
    factory, settings = app.state.runtime.session_factory, app.state.runtime.settings
    account = "22222222-2222-4222-8222-222222222222"
    in_year = datetime(2027, 3, 31, 18, 0, tzinfo=UTC)  # 23:30 in Kolkata: still FY 2026-27

    async def handle(event: Envelope) -> None:
        async with factory() as db, db.begin():
            await issue_documents(db, [event], asks=ASKS, settings=settings)

    await asyncio.gather(*(handle(order_event(f"ORD-{n}", account, at=in_year)) for n in range(100)))
    rows = await fetch(running.database_urls["invoicing"], "SELECT number, sequence, financial_year FROM document")
    assert sorted(r["sequence"] for r in rows) == list(range(1, 101))
    assert len({r["number"] for r in rows}) == 100 and {r["financial_year"] for r in rows} == {"26-27"}

    next_year = datetime(2027, 3, 31, 18, 31, tzinfo=UTC)  # 00:01 on 1 April in Kolkata
    await handle(order_event("ORD-APRIL", account, at=next_year))
    april = await fetch(running.database_urls["invoicing"], "SELECT number FROM document WHERE source = 'ORD-APRIL'")
    assert april[0]["number"] == "TGI/27-28/000001"


async def test_another_accounts_document_is_a_404_and_bad_filters_are_422(system: Any) -> None:
    client, _ = system
    alice, bob = await sign_up_buyer(client), await client.sign_up()
    await client.call("POST", "/api/billing/orders", alice, json={"order_id": "ORD-9", "items": [ITEM]})
    due = await invoice_of(client, alice, "ORD-9", "due")
    for path in (f"/api/invoices/{due['id']}", f"/api/invoices/{due['id']}/pdf"):
        assert (await client.call("GET", path, bob)).status_code == 404
    assert (await client.call("GET", "/api/invoices?order_id=ORD-9", bob)).json()["items"] == []
    for query in ("status=void", "kind=memo", "from=2026-13-01", "from=2026-12-01&to=2026-11-01", "page=0"):
        answer = await client.call("GET", f"/api/invoices?{query}", alice)
        assert answer.status_code == 422, (query, answer.text)
