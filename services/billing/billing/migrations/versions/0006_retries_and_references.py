"""idempotency keys; one live offline payment per transfer reference

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 12:00:00

Issue 15: a retried offline top-up recorded one bank transfer twice. The
reference was unique only among pending requests, so once the first was
approved the same transfer could be submitted (and approved) again.

- `offline_payment.reference_key`: what makes two references one transfer
  (upper-case letters and digits), and a unique index over the account's
  pending and approved requests (a rejected one frees its reference).
- Duplicates recorded before this rule (two live requests of one transfer)
  cannot all be under it: the oldest keeps its key, the later ones keep a
  NULL key (outside the index) and are listed in the migration's log for
  finance to reconcile. Nothing else about them changes.
- `idempotency_key`: the answers of requests made with an `Idempotency-Key`.
"""

import logging
import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")
LIVE = "status IN ('pending_approval', 'approved')"


def reference_key(reference: str) -> str:
    # Frozen copy of billing.domain.offline_payments.reference_key as of this revision.
    return re.sub(r"[^0-9A-Za-z]", "", reference).upper()


def upgrade() -> None:
    op.add_column("offline_payment", sa.Column("reference_key", sa.String(length=100), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(
        sa.text("SELECT id, account_id, reference, status FROM offline_payment ORDER BY created_at, id")
    ).all()
    live_keys: set[tuple[str, str]] = set()
    for row in rows:
        key: str | None = reference_key(row.reference) or None
        if key is not None and row.status in ("pending_approval", "approved"):
            if (row.account_id, key) in live_keys:
                log.warning(
                    "offline payment %s (%s, reference %r) repeats an earlier live request of the same transfer: "
                    "left outside the one-per-reference rule; reconcile it",
                    row.id,
                    row.status,
                    row.reference,
                )
                key = None
            else:
                live_keys.add((row.account_id, key))
        connection.execute(
            sa.text("UPDATE offline_payment SET reference_key = :key WHERE id = :id"), {"key": key, "id": row.id}
        )
    op.drop_index("ix_offline_payment_pending_reference", table_name="offline_payment")
    op.create_index(
        "ix_offline_payment_live_reference",
        "offline_payment",
        ["account_id", "reference_key"],
        unique=True,
        postgresql_where=sa.text(LIVE),
        sqlite_where=sa.text(LIVE),
    )

    op.create_table(
        "idempotency_key",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "key", name="pk_idempotency_key"),
    )
    op.create_index("ix_idempotency_key_created", "idempotency_key", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_key_created", table_name="idempotency_key")
    op.drop_table("idempotency_key")
    op.drop_index("ix_offline_payment_live_reference", table_name="offline_payment")
    # SQLite copies the table to drop a column: the partial index is made afterwards, not copied.
    with op.batch_alter_table("offline_payment") as batch_op:
        batch_op.drop_column("reference_key")
    # The old rule covers fewer rows than the new one: it holds for what the new one allowed.
    op.create_index(
        "ix_offline_payment_pending_reference",
        "offline_payment",
        ["account_id", "reference"],
        unique=True,
        postgresql_where=sa.text("status = 'pending_approval'"),
        sqlite_where=sa.text("status = 'pending_approval'"),
    )
