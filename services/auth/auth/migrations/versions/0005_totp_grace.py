"""totp grace: enforced 2FA may give users some days to enrol

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 04:30:00

An account that already enforces 2FA keeps a grace of 0 days (enrol at the next
login, as before); its start stays unset, so each user's deadline is their creation.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _recreates_tables() -> bool:
    # SQLite adds a check constraint only by copying the table, and `account` cannot be dropped
    # for the copy while users and rules refer to it: there the API's validation is the check.
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    op.add_column("account", sa.Column("totp_grace_days", sa.Integer(), server_default="0", nullable=False))
    op.add_column("account", sa.Column("totp_policy_since", sa.DateTime(timezone=True), nullable=True))
    if not _recreates_tables():
        op.create_check_constraint("totp_grace_days", "account", "totp_grace_days BETWEEN 0 AND 30")


def downgrade() -> None:
    if not _recreates_tables():
        op.drop_constraint(op.f("ck_account_totp_grace_days"), "account", type_="check")
    op.drop_column("account", "totp_policy_since")
    op.drop_column("account", "totp_grace_days")
