"""The tables and the event the bench uses, shared by the producer and the consumer process."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Column, DateTime, MetaData, String, Table

from tollgate_shared.db import new_metadata
from tollgate_shared.events import Envelope, new_event
from tollgate_shared.events.models import InvoicePaid
from tollgate_shared.messaging_tables import MessagingTables, add_messaging_tables

# The routing key is the event type, and the inbox validates the type against
# the catalogue, so the bench needs a real type: one that no service consumes
# (nothing else receives the bench's events) and none produces yet (the bench
# queue receives little else). Whatever else arrives is told apart by the run's
# account id and left out of the figures.
EVENT_TYPE = "invoicing.invoice.paid"


@dataclass(frozen=True)
class Schema:
    metadata: MetaData
    messaging: MessagingTables
    effect: Table
    """`produced` on the producer side, `received` on the consumer side: the change the event goes with."""


def _schema(effect_name: str) -> Schema:
    metadata = new_metadata()
    messaging = add_messaging_tables(metadata)
    effect = Table(
        effect_name,
        metadata,
        Column("event_id", String(36), primary_key=True),
        Column("recorded_at", DateTime(timezone=True), nullable=False),
    )
    return Schema(metadata, messaging, effect)


def producer_schema() -> Schema:
    return _schema("produced")


def consumer_schema() -> Schema:
    return _schema("received")


def bench_event(run_account_id: str) -> Envelope:
    """A new `invoicing.invoice.paid` of the run's account, a small event like most of the catalogue."""
    data = InvoicePaid(invoice_id=str(uuid.uuid4()), number="BENCH-1", order_id=None)
    return new_event(data, source="bench", account_id=run_account_id)
