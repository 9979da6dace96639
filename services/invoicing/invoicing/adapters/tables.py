"""Invoicing's tables: documents and their numbering series (plus the outbox and inbox)."""

from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from invoicing.domain.document import DocumentKind, DocumentStatus
from tollgate_shared.db import UtcDateTime, new_metadata
from tollgate_shared.messaging_tables import add_messaging_tables


def _one_of(column: str, vocabulary: type[StrEnum]) -> str:
    """`column IN ('a', 'b')`: a check constraint derived from the vocabulary it keeps to."""
    words = ", ".join(f"'{word}'" for word in vocabulary)
    return f"{column} IN ({words})"


metadata = new_metadata()
messaging = add_messaging_tables(metadata)

document = Table(
    "document",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", String(36), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("number", String(16), nullable=False, unique=True),
    Column("financial_year", String(5), nullable=False),  # "26-27"
    Column("sequence", Integer, nullable=False),
    # What the document is for: an order id, an online payment id, an offline payment id.
    Column("source", String(100), nullable=False),
    Column("order_id", String(100), nullable=True),
    Column("status", String(10), nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    # The document as printed (invoicing.domain.document.Document, JSON): nothing is looked up later.
    Column("content", Text, nullable=False),
    Column("paid_at", UtcDateTime(), nullable=True),
    # The PDF of the current content, rendered on first download; the ETag is the content's hash.
    Column("pdf", LargeBinary, nullable=True),
    Column("pdf_etag", String(64), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    # One invoice per order, one receipt per top-up, whatever is redelivered.
    UniqueConstraint("account_id", "kind", "source", name="one_document_per_source"),
    UniqueConstraint("kind", "financial_year", "sequence", name="one_number_per_sequence"),
    CheckConstraint(_one_of("kind", DocumentKind), name="kind"),
    CheckConstraint(_one_of("status", DocumentStatus), name="status"),
)
Index("ix_document_account_issued", document.c.account_id, document.c.issued_on, document.c.created_at)
Index("ix_document_account_order", document.c.account_id, document.c.order_id)

# The last number given in each series; its row lock makes allocation gapless under concurrency.
document_series = Table(
    "document_series",
    metadata,
    Column("kind", String(10), primary_key=True),
    Column("financial_year", String(5), primary_key=True),
    Column("last_number", Integer, nullable=False),
)
