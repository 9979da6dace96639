"""ip rules without zone index: drop the zone of addresses stored before it was refused

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 12:00:00

Rules are now refused with a zone index (`fe80::1%eth0`), and neither auth nor the
gateway parses one any more: a stored one would fail every login of its account
and the gateway's rule snapshot. The gateway has always matched such a rule by its
number alone, so dropping the zone keeps what it enforced.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ip_rule = sa.table(
    "ip_rule", sa.column("id", sa.String), sa.column("start_ip", sa.String), sa.column("end_ip", sa.String)
)


def _without_zone(address: str) -> str:
    return address.split("%", 1)[0]


def upgrade() -> None:
    connection = op.get_bind()
    zoned = sa.or_(ip_rule.c.start_ip.contains("%", autoescape=True), ip_rule.c.end_ip.contains("%", autoescape=True))
    for row in connection.execute(sa.select(ip_rule).where(zoned)).all():
        connection.execute(
            ip_rule.update()
            .where(ip_rule.c.id == row.id)
            .values(start_ip=_without_zone(row.start_ip), end_ip=_without_zone(row.end_ip))
        )


def downgrade() -> None:
    pass  # the zones are gone; the rules mean what the gateway enforced
