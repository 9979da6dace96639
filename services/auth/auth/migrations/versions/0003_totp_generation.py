"""totp generation: a challenge dies when the user's enrolment changes

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_generation", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("login_challenge", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_generation", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("login_challenge", schema=None) as batch_op:
        batch_op.drop_column("totp_generation")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("totp_generation")
