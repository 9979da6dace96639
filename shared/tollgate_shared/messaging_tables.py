"""The outbox and inbox tables every service's metadata carries."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, String, Table, Text

from tollgate_shared.db import UtcDateTime


@dataclass(frozen=True)
class MessagingTables:
    outbox: Table
    inbox: Table


def add_messaging_tables(metadata: MetaData) -> MessagingTables:
    """Define `outbox` and `inbox` in a service's metadata (and so its migrations)."""
    outbox = Table(
        "outbox",
        metadata,
        # SQLite only auto-increments an INTEGER primary key.
        Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("event_type", String(100), nullable=False),
        Column("payload", Text, nullable=False),
        Column("traceparent", String(100), nullable=True),
        Column("created_at", UtcDateTime(), nullable=False),
        # A lease on rows a relay publishes outside a transaction (SQLite, the in-process
        # bus); on PostgreSQL the relay holds row locks instead (docs/decisions.md).
        Column("claimed_until", UtcDateTime(), nullable=True),
        Column("sent_at", UtcDateTime(), nullable=True),
    )
    Index(
        "ix_outbox_unsent",
        outbox.c.seq,
        postgresql_where=outbox.c.sent_at.is_(None),
        sqlite_where=outbox.c.sent_at.is_(None),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", String(100), primary_key=True),
        Column("event_id", String(36), primary_key=True),
        Column("handled_at", UtcDateTime(), nullable=False, index=True),
    )
    return MessagingTables(outbox=outbox, inbox=inbox)
