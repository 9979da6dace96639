"""An order paid from credits in one statement: the common case of placing an order, in one round trip.

Placing an order writes four things that stand or fall together: the wallet's move, its ledger entry, the
order and its two events. As separate statements in a transaction they cost six round trips (`BEGIN`, four
statements, `COMMIT`), most of an order's CPU in billing and in PostgreSQL (bench/README.md, billing).
Here they are one data-modifying `WITH`, each part fed by the one before, so it writes all of them or
nothing:

- the move happens only when the balance covers the total, the account has no order with this id yet, and
  the balance does not cross below the low-balance threshold (a crossing is announced by the ordinary path);
- the ledger entry and the order are plain inserts: a concurrent order with the same id, or an entry for
  the same reference, is a unique violation that undoes the whole statement;
- the events are written only with the order.

Run before anything else in the request's transaction, it commits alone (`direct_sql.atomic_alone`: no
`BEGIN`, no `COMMIT`). Whenever it writes nothing (not covered, a crossing, a repeated or concurrent id, a
wallet not opened yet, SQLite, or a transaction already begun) the caller takes the ordinary path, which
decides each of those cases under the wallet's lock as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, bindparam, exists, func, or_, select, union_all
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from billing.adapters.tables import ledger_entry, order, wallet
from billing.adapters.wallet_store import MOVE_IF_COVERED, enter_moved
from billing.domain.ledger import EntryKind, is_below
from tollgate_shared import direct_sql
from tollgate_shared.events import Envelope
from tollgate_shared.outbox import OUTBOX_INFO_KEY, outbox_rows, relay_now

_ORDER_PREFIX = "o_"
_EVENT_COLUMNS = ("event_id", "event_type", "payload", "traceparent", "created_at")


async def pay_new_order_from_credits(
    db: AsyncSession, values: Mapping[str, Any], events: Sequence[Envelope], *, entry_id: str
) -> bool:
    """Insert the order (`values`, status paid), debit its total from the wallet with the ledger entry
    `entry_id`, and record `events`, in one statement committed on its own: True when done, False when it
    wrote nothing and the caller must place the order the ordinary way."""
    if db.bind.dialect.name != "postgresql" or await direct_sql.in_transaction(db):
        return False
    outbox: Table = db.info[OUTBOX_INFO_KEY].outbox
    params: dict[str, Any] = {
        "p_account": values["account_id"],
        "p_amount": -int(values["total_minor"]),
        "p_now": datetime.now(UTC),
        "p_entry": entry_id,
        "p_kind": str(EntryKind.ORDER),
        "p_reference": values["order_id"],
    }
    params.update({_ORDER_PREFIX + name: value for name, value in values.items()})
    for index, row in enumerate(outbox_rows(events)):
        params.update({f"e{index}_{name}": value for name, value in row.items()})
    statement = _paid_order_statement(outbox, tuple(values), len(events))
    try:
        rows = await direct_sql.atomic_alone(db, statement, params)
    except IntegrityError:
        return False  # a concurrent order with this id (or an entry for it): nothing was written
    if not rows:
        return False
    relay_now(db)
    return True


@lru_cache(maxsize=8)
def _paid_order_statement(outbox: Table, order_columns: tuple[str, ...], event_count: int) -> Select[Any]:
    # Built once per outbox and shape: building a Core statement costs more than running it.
    new_balance = wallet.c.balance_minor + bindparam("p_amount")
    moved = (
        MOVE_IF_COVERED.where(
            or_(wallet.c.below_threshold, ~is_below(new_balance, wallet.c.low_balance_threshold_minor)),
            ~exists(
                select(order.c.id).where(
                    order.c.account_id == bindparam("p_account"), order.c.order_id == bindparam("p_reference")
                )
            ),
        )
    ).cte("moved")
    entered = enter_moved(moved).returning(ledger_entry.c.id).cte("entered")
    placed = (
        postgresql.insert(order)
        .from_select(
            list(order_columns),
            select(*(bindparam(_ORDER_PREFIX + name, type_=order.c[name].type) for name in order_columns)).where(
                exists(select(entered.c.id))
            ),
        )
        .returning(order.c.id)
        .cte("placed")
    )
    rows = [
        select(*(bindparam(f"e{index}_{name}", type_=outbox.c[name].type) for name in _EVENT_COLUMNS)).where(
            exists(select(placed.c.id))
        )
        for index in range(event_count)
    ]
    # UNION ALL keeps the events in order, so the outbox's sequence relays them in order.
    announced = (
        postgresql.insert(outbox)
        .from_select(list(_EVENT_COLUMNS), union_all(*rows) if len(rows) > 1 else rows[0])
        .returning(outbox.c.event_id)
        .cte("announced")
    )
    return select(moved.c.balance_minor, select(func.count()).select_from(announced).scalar_subquery())
