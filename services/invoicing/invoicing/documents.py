"""Issuing documents from billing's events, once each, numbered without gaps.

A number comes from its series' row (`UPDATE … RETURNING` under the row lock)
in the same transaction as the document and the inbox record, so a rollback
leaves no gap and concurrent consumers or replicas queue on the series. Two
deliveries issuing the same document (an order's `placed` and `paid` arriving
together, or a redelivery) queue on a lock of that (account, kind, source):
the second finds the first's document and changes it instead of colliding on
`one_document_per_source` and being retried.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from invoicing.adapters.tables import document, document_series
from invoicing.domain import compose
from invoicing.domain.document import Document, Kind, PaymentDetails
from invoicing.domain.numbering import document_number, financial_year
from invoicing.settings import InvoicingSettings
from tollgate_shared.bus import PoisonMessage
from tollgate_shared.events import Envelope
from tollgate_shared.events.models import (
    InvoiceIssued,
    InvoicePaid,
    OfflinePaymentApproved,
    OrderPaid,
    OrderPlaced,
    PaymentSucceeded,
)
from tollgate_shared.metrics.catalogue import INVOICES_ISSUED
from tollgate_shared.metrics.counting import count_after_commit
from tollgate_shared.money import to_minor
from tollgate_shared.outbox import record_event

log = logging.getLogger(__name__)


def local_date(moment: datetime, settings: InvoicingSettings) -> date:
    """A document's date: the event's time in the seller's time zone (DESIGN §9)."""
    return moment.astimezone(ZoneInfo(settings.seller_timezone)).date()


async def on_order_placed(db: AsyncSession, event: Envelope, *, settings: InvoicingSettings) -> None:
    """An invoice, due until billing says the order is paid."""
    order = OrderPlaced.model_validate(event.data)
    account_id = _account(event)
    await issue(
        db,
        account_id=account_id,
        kind="invoice",
        source=order.order_id,
        order_id=order.order_id,
        issued_on=local_date(event.occurred_at, settings),
        compose=lambda number, day: compose.invoice(
            order, account_id=account_id, number=number, issued_on=day, payment=None, settings=settings
        ),
        settings=settings,
    )


async def on_order_paid(db: AsyncSession, event: Envelope, *, settings: InvoicingSettings) -> None:
    """The order's invoice turns paid with its payment details; issued paid if `placed` has not arrived yet."""
    order = OrderPaid.model_validate(event.data)
    account_id = _account(event)
    payment = PaymentDetails(
        method="credits" if order.method == "credits" else "online (card)",
        reference=order.payment_reference,
        paid_on=local_date(order.paid_at, settings),
    )
    row = await issue(
        db,
        account_id=account_id,
        kind="invoice",
        source=order.order_id,
        order_id=order.order_id,
        issued_on=local_date(event.occurred_at, settings),
        compose=lambda number, day: compose.invoice(
            order, account_id=account_id, number=number, issued_on=day, payment=payment, settings=settings
        ),
        settings=settings,
    )
    if row.status == "due":
        content = Document.model_validate_json(row.content).model_copy(update={"status": "paid", "payment": payment})
        await db.execute(
            update(document)
            .where(document.c.id == row.id)
            .values(
                status="paid",
                content=content.model_dump_json(),
                paid_at=order.paid_at,
                pdf=None,
                pdf_etag=None,
                updated_at=datetime.now(UTC),
            )
        )
        await _publish_paid(db, row.id, row.number, row.order_id, account_id)


async def on_payment_succeeded(db: AsyncSession, event: Envelope, *, settings: InvoicingSettings) -> None:
    """A receipt voucher for an online top-up."""
    paid = PaymentSucceeded.model_validate(event.data)
    details = PaymentDetails(
        method="online (card)",
        reference=paid.provider_reference,
        paid_on=local_date(paid.paid_at, settings),
        provider=paid.provider,
    )
    await _receipt(
        db,
        event,
        source=paid.payment_id,
        amount=paid.amount,
        currency=paid.currency,
        buyer=paid.buyer,
        payment=details,
        settings=settings,
    )


async def on_offline_approved(db: AsyncSession, event: Envelope, *, settings: InvoicingSettings) -> None:
    """A receipt voucher for a bank transfer or cheque finance approved, for the amount credited."""
    approved = OfflinePaymentApproved.model_validate(event.data)
    details = PaymentDetails(
        method=approved.mode.upper() if approved.mode != "cheque" else "cheque",
        reference=approved.reference,
        paid_on=approved.paid_on,
        bank=approved.bank,
    )
    await _receipt(
        db,
        event,
        source=approved.offline_payment_id,
        amount=approved.amount,
        currency=approved.currency,
        buyer=approved.buyer,
        payment=details,
        settings=settings,
    )


async def _receipt(
    db: AsyncSession,
    event: Envelope,
    *,
    source: str,
    amount: Any,
    currency: str,
    buyer: Any,
    payment: PaymentDetails,
    settings: InvoicingSettings,
) -> None:
    account_id = _account(event)
    await issue(
        db,
        account_id=account_id,
        kind="receipt",
        source=source,
        order_id=None,
        issued_on=local_date(event.occurred_at, settings),
        compose=lambda number, day: compose.receipt(
            amount=amount,
            currency=currency,
            buyer=buyer,
            account_id=account_id,
            number=number,
            issued_on=day,
            payment=payment,
            settings=settings,
        ),
        settings=settings,
    )


async def issue(
    db: AsyncSession,
    *,
    account_id: str,
    kind: Kind,
    source: str,
    order_id: str | None,
    issued_on: date,
    compose: Callable[[str, date], Document],
    settings: InvoicingSettings,
) -> Any:
    """The document for (account, kind, source): the existing one, or a new one with the next number."""
    await _lock_source(db, account_id, kind, source)
    existing = await _document_for(db, account_id, kind, source)
    if existing is not None:
        return existing
    year = financial_year(issued_on)
    sequence = await next_in_series(db, kind, year)
    prefix = settings.invoice_prefix if kind == "invoice" else settings.receipt_prefix
    content = compose(document_number(prefix, year, sequence), issued_on)
    now = datetime.now(UTC)
    document_id = str(uuid.uuid4())
    await db.execute(
        document.insert().values(
            id=document_id,
            account_id=account_id,
            kind=kind,
            number=content.number,
            financial_year=year,
            sequence=sequence,
            source=source,
            order_id=order_id,
            status=content.status,
            issued_on=issued_on,
            currency=content.currency,
            total_minor=to_minor(content.totals.total),
            content=content.model_dump_json(),
            paid_at=now if content.status == "paid" else None,
            created_at=now,
            updated_at=now,
        )
    )
    issued = InvoiceIssued(
        invoice_id=document_id,
        number=content.number,
        kind=kind,
        order_id=order_id,
        total=content.totals.total,
        status=content.status,
    )
    await record_event(db, issued, account_id=account_id)
    count_after_commit(db, INVOICES_ISSUED.labels("invoicing", kind))
    if kind == "invoice" and content.status == "paid":
        await _publish_paid(db, document_id, content.number, order_id, account_id)
    row = await _document_for(db, account_id, kind, source)
    assert row is not None
    return row


async def next_in_series(db: AsyncSession, kind: str, year: str) -> int:
    """The next number of the series, allocated under its row lock until this transaction ends."""
    insert = postgresql.insert if db.bind.dialect.name == "postgresql" else sqlite.insert
    await db.execute(
        insert(document_series).values(kind=kind, financial_year=year, last_number=0).on_conflict_do_nothing()
    )
    sequence = await db.scalar(
        update(document_series)
        .where(document_series.c.kind == kind, document_series.c.financial_year == year)
        .values(last_number=document_series.c.last_number + 1)
        .returning(document_series.c.last_number)
    )
    assert sequence is not None
    return int(sequence)


async def _lock_source(db: AsyncSession, account_id: str, kind: str, source: str) -> None:
    """Hold (account, kind, source) until this transaction ends, whether its document exists yet or not.

    A row lock cannot cover a document nobody has inserted yet; a transaction
    advisory lock can. Two unrelated sources sharing a 64-bit hash only queue
    behind each other. SQLite has one writer at a time: nothing to take.
    """
    if db.bind.dialect.name == "postgresql":
        await db.execute(_SOURCE_LOCK, {"key": f"invoicing.document:{account_id}:{kind}:{source}"})


_SOURCE_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")


async def _document_for(db: AsyncSession, account_id: str, kind: str, source: str) -> Any:
    query = select(document).where(
        document.c.account_id == account_id, document.c.kind == kind, document.c.source == source
    )
    return (await db.execute(query.with_for_update())).first()


async def _publish_paid(db: AsyncSession, document_id: str, number: str, order_id: str | None, account_id: str) -> None:
    paid = InvoicePaid(invoice_id=document_id, number=number, order_id=order_id)
    await record_event(db, paid, account_id=account_id)


def _account(event: Envelope) -> str:
    if not event.account_id:
        # No retry will add an account: park it for an operator.
        raise PoisonMessage(f"{event.type} {event.id} names no account")
    return event.account_id
