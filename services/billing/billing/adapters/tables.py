"""Billing's tables: wallets and their append-only ledger, profiles, orders, payments (plus the outbox and inbox).

The check constraints on statuses and kinds are built from the domain's enums,
rendering exactly what the migrations created (tests/integration/test_migrations.py).
"""

from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from billing.domain.ledger import EntryKind
from billing.domain.offline_payments import LIVE_STATUSES, OfflinePaymentStatus, TransferMode
from billing.domain.orders import OrderStatus
from billing.domain.payments import PaymentStatus
from tollgate_shared.db import UtcDateTime, new_metadata
from tollgate_shared.messaging_tables import add_messaging_tables


def one_of(column: str, vocabulary: type[StrEnum]) -> CheckConstraint:
    """`<column> IN ('a', 'b', ...)`, named after the column, the values in the enum's order."""
    values = ", ".join(f"'{member.value}'" for member in vocabulary)
    return CheckConstraint(f"{column} IN ({values})", name=column)


metadata = new_metadata()
messaging = add_messaging_tables(metadata)

wallet = Table(
    "wallet",
    metadata,
    Column("account_id", String(36), primary_key=True),
    Column("currency", String(3), nullable=False),
    # Minor units; the database refuses a negative balance whatever the code does.
    Column("balance_minor", BigInteger, nullable=False, default=0),
    Column("low_balance_threshold_minor", BigInteger, nullable=False, default=0, server_default="0"),
    # Whether the balance is below the threshold now: `billing.balance.low` goes out when this turns true.
    Column("below_threshold", Boolean, nullable=False, default=False, server_default="0"),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=True),
    CheckConstraint("balance_minor >= 0", name="balance_not_negative"),
    CheckConstraint("low_balance_threshold_minor >= 0", name="threshold_not_negative"),
)

ledger_entry = Table(
    "ledger_entry",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", String(36), nullable=False),
    Column("kind", String(30), nullable=False),
    # What the entry applies: a payment id, an offline payment id, an order id.
    Column("reference", String(100), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),  # signed: credits positive, debits negative
    Column("balance_after_minor", BigInteger, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    # The same payment, approval or order can never be applied twice.
    UniqueConstraint("account_id", "kind", "reference", name="applied_once"),
    CheckConstraint("balance_after_minor >= 0", name="balance_after_not_negative"),
    one_of("kind", EntryKind),
)
Index("ix_ledger_entry_account_created", ledger_entry.c.account_id, ledger_entry.c.created_at)

billing_profile = Table(
    "billing_profile",
    metadata,
    Column("account_id", String(36), primary_key=True),
    # From auth.account.created: what an invoice names when no legal name is on record.
    Column("account_name", String(200), nullable=True),
    Column("legal_name", String(200), nullable=True),
    Column("address", String(500), nullable=True),
    Column("state", String(60), nullable=True),
    Column("state_code", String(2), nullable=True),
    Column("gstin", String(15), nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
)

order = Table(
    "order",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", String(36), nullable=False),
    Column("order_id", String(100), nullable=False),
    # SHA-256 of the canonical request: the same id with another body is a conflict.
    Column("request_hash", String(64), nullable=False),
    Column("status", String(20), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("lines", Text, nullable=False),  # JSON: the priced lines
    Column("subtotal_minor", BigInteger, nullable=False),
    Column("cgst_minor", BigInteger, nullable=False),
    Column("sgst_minor", BigInteger, nullable=False),
    Column("igst_minor", BigInteger, nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    Column("buyer", Text, nullable=False),  # JSON: the billing profile when ordered
    Column("place_of_supply", String(60), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("paid_at", UtcDateTime(), nullable=True),
    Column("payment_method", String(20), nullable=True),
    UniqueConstraint("account_id", "order_id", name="order_id_per_account"),
    one_of("status", OrderStatus),
    CheckConstraint("total_minor >= 0", name="total_not_negative"),
)
Index("ix_order_account_created", order.c.account_id, order.c.created_at)

offline_payment = Table(
    "offline_payment",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", String(36), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("mode", String(10), nullable=False),
    Column("reference", String(100), nullable=False),  # as the user typed it (stripped)
    # What makes two references one transfer: its letters (upper-case) and digits
    # (`billing.domain.offline_payments.reference_key`). NULL only on the duplicates
    # recorded before migration 0006 brought in the rule.
    Column("reference_key", String(100), nullable=True),
    Column("paid_on", Date, nullable=False),
    Column("bank", String(100), nullable=True),
    Column("note", String(500), nullable=True),
    Column("submitted_by", String(36), nullable=False),
    Column("status", String(20), nullable=False),
    Column("approved_amount_minor", BigInteger, nullable=True),
    Column("reason", String(500), nullable=True),
    Column("decided_by", String(100), nullable=True),
    Column("decided_at", UtcDateTime(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    one_of("status", OfflinePaymentStatus),
    one_of("mode", TransferMode),
    CheckConstraint("amount_minor > 0", name="amount_positive"),
)
# One live (pending or approved) request per transfer and account: submitting it again is a 409,
# also when two submissions race; after a rejection the reference is free again.
LIVE = offline_payment.c.status.in_([str(status) for status in LIVE_STATUSES])
Index(
    "ix_offline_payment_live_reference",
    offline_payment.c.account_id,
    offline_payment.c.reference_key,
    unique=True,
    postgresql_where=LIVE,
    sqlite_where=LIVE,
)
Index("ix_offline_payment_status_created", offline_payment.c.status, offline_payment.c.created_at)

# The answer of each request made with an `Idempotency-Key`, written in the transaction of
# its effect (billing/adapters/idempotency_store.py) and kept at least 24 hours.
idempotency_key = Table(
    "idempotency_key",
    metadata,
    Column("account_id", String(36), nullable=False),
    Column("key", String(255), nullable=False),
    # SHA-256 of the method, path and body: the same key for another request is a conflict.
    Column("request_hash", String(64), nullable=False),
    # Set in the same transaction as the row; never committed without them.
    Column("status_code", Integer, nullable=True),
    Column("response_body", Text, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("account_id", "key", name="pk_idempotency_key"),
)
Index("ix_idempotency_key_created", idempotency_key.c.created_at)

payment = Table(
    "payment",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", String(36), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("provider", String(20), nullable=False),
    # The provider's id of the checkout (a Stripe Checkout Session id): what recheck asks about.
    Column("provider_session", String(255), nullable=False),
    # The provider's id of the money movement once paid (a Stripe PaymentIntent), for receipts.
    Column("provider_reference", String(255), nullable=True),
    Column("redirect_url", String(2000), nullable=False),
    Column("status", String(20), nullable=False),
    Column("failure_reason", String(500), nullable=True),
    # An online payment of an order: credited to the wallet, then the order is paid from credits.
    Column("order_id", String(100), nullable=True),
    Column("created_by", String(36), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("completed_at", UtcDateTime(), nullable=True),
    UniqueConstraint("provider", "provider_session", name="provider_session_once"),
    one_of("status", PaymentStatus),
    CheckConstraint("amount_minor > 0", name="amount_positive"),
)
Index("ix_payment_account_created", payment.c.account_id, payment.c.created_at)

# The sandbox provider's own records: what a hosted checkout keeps on its side.
sandbox_checkout = Table(
    "sandbox_checkout",
    metadata,
    Column("id", String(40), primary_key=True),
    # The capability in the checkout page's address: whoever holds the link may pay.
    Column("token", String(64), nullable=False, unique=True),
    Column("payment_id", String(36), nullable=False),
    Column("account_id", String(36), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("success_url", String(2000), nullable=False),
    Column("cancel_url", String(2000), nullable=False),
    # Stripe's vocabulary: status open/complete/expired, payment_status unpaid/paid.
    Column("status", String(20), nullable=False),
    Column("payment_status", String(20), nullable=False),
    Column("charge_id", String(40), nullable=True),
    Column("declined", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
)
