"""Billing's tables: wallets (plus the outbox and inbox)."""

from sqlalchemy import BigInteger, CheckConstraint, Column, DateTime, String, Table

from tollgate_shared.db import new_metadata
from tollgate_shared.messaging_tables import add_messaging_tables

metadata = new_metadata()
messaging = add_messaging_tables(metadata)

wallet = Table(
    "wallet",
    metadata,
    Column("account_id", String(36), primary_key=True),
    Column("currency", String(3), nullable=False),
    # Minor units; the database refuses a negative balance whatever the code does.
    Column("balance_minor", BigInteger, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("balance_minor >= 0", name="balance_not_negative"),
)
