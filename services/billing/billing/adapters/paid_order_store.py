"""An order paid from credits in one statement: the common case of placing an order, in one round trip.

Placing an order writes four things that stand or fall together: the wallet's move, its ledger entry, the
order and its two events. As separate statements in a transaction they cost six round trips (`BEGIN`, four
statements, `COMMIT`), most of an order's CPU in billing and in PostgreSQL (bench/README.md, billing).
Here they are one data-modifying `WITH` that writes all of them or nothing:

- the order and its events are inserted first, before the wallet's lock is asked for, so an account's
  orders queue on that lock only for the move, its entry and the commit (as on the ordinary path);
- the move happens only when the balance covers the total, does not cross below the low-balance threshold
  (a crossing is announced by the ordinary path), and the billing profile still names the buyer the order
  was priced for (the caller may price with a profile it read for an earlier order);
- the ledger entry's balance after is the move's: with no move it is NULL, and the entry's NOT NULL
  refuses it, which undoes the whole statement, as a repeated order id (the order's unique key) or an
  entry already there for it (the ledger's) do.

Run before anything else in the request's transaction, it commits alone (`direct_sql.atomic_alone`: no
`BEGIN`, no `COMMIT`). Whenever it writes nothing (not covered, a crossing, a repeated or concurrent id, a
wallet not opened yet, another buyer on record, SQLite, or a transaction already begun) the caller takes
the ordinary path, which decides each of those cases under the wallet's lock as before.
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

from billing.adapters.tables import billing_profile, ledger_entry, order, wallet
from billing.adapters.wallet_store import MOVE_IF_COVERED
from billing.domain.ledger import EntryKind, is_below
from tollgate_shared import direct_sql
from tollgate_shared.events import Envelope
from tollgate_shared.events.models import BuyerSnapshot
from tollgate_shared.outbox import OUTBOX_INFO_KEY, outbox_rows, relay_now

_ORDER_PREFIX = "o_"
_EVENT_COLUMNS = ("event_id", "event_type", "payload", "traceparent", "created_at")


async def pay_new_order_from_credits(
    db: AsyncSession, values: Mapping[str, Any], events: Sequence[Envelope], *, entry_id: str, buyer: BuyerSnapshot
) -> bool:
    """Insert the order (`values`, status paid), debit its total from the wallet with the ledger entry
    `entry_id`, and record `events`, in one statement committed on its own, if the account's billing profile
    still names `buyer` (the order was priced for it): True when done, False when it wrote nothing and the
    caller must place the order the ordinary way."""
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
        "p_legal_name": buyer.legal_name,
        "p_address": buyer.address,
        "p_state": buyer.state,
        "p_gstin": buyer.gstin,
    }
    params.update({_ORDER_PREFIX + name: value for name, value in values.items()})
    for index, row in enumerate(outbox_rows(events)):
        params.update({f"e{index}_{name}": value for name, value in row.items()})
    statement = _paid_order_statement(outbox, tuple(values), len(events))
    try:
        await direct_sql.atomic_alone(db, statement, params)
    except IntegrityError:
        # Not moved (not covered, a crossing, no wallet yet), or the id or its entry taken: nothing written.
        return False
    relay_now(db)
    return True


# The order was priced for this buyer (the place of supply is its state): the profile on record must name it.
_STILL_THE_BUYER = exists(
    select(billing_profile.c.account_id).where(
        billing_profile.c.account_id == bindparam("p_account"),
        billing_profile.c.legal_name == bindparam("p_legal_name"),
        billing_profile.c.address == bindparam("p_address"),
        billing_profile.c.state == bindparam("p_state"),
        billing_profile.c.gstin.is_not_distinct_from(bindparam("p_gstin")),
    )
)


@lru_cache(maxsize=8)
def _paid_order_statement(outbox: Table, order_columns: tuple[str, ...], event_count: int) -> Select[Any]:
    # Built once per outbox and shape: building a Core statement costs more than running it.
    placed = (
        postgresql.insert(order)
        .values({name: bindparam(_ORDER_PREFIX + name, type_=order.c[name].type) for name in order_columns})
        .returning(order.c.id)
        .cte("placed")
    )
    rows = [
        select(*(bindparam(f"e{index}_{name}", type_=outbox.c[name].type) for name in _EVENT_COLUMNS))
        for index in range(event_count)
    ]
    # UNION ALL keeps the events in order, so the outbox's sequence relays them in order.
    announced = (
        postgresql.insert(outbox)
        .from_select(list(_EVENT_COLUMNS), union_all(*rows) if len(rows) > 1 else rows[0])
        .returning(outbox.c.event_id)
        .cte("announced")
    )
    # The move waits for the wallet's lock only once the order and its events are written (its condition
    # reads them), so one account's orders queue on the lock for the move, the entry and the commit alone.
    new_balance = wallet.c.balance_minor + bindparam("p_amount")
    moved = MOVE_IF_COVERED.where(
        or_(wallet.c.below_threshold, ~is_below(new_balance, wallet.c.low_balance_threshold_minor)),
        exists(select(placed.c.id)),
        exists(select(announced.c.event_id)),
        _STILL_THE_BUYER,
    ).cte("moved")
    # No move, no balance after: the entry's NOT NULL refuses it, which undoes the order and its events.
    entered = (
        postgresql.insert(ledger_entry)
        .values(
            id=bindparam("p_entry"),
            account_id=bindparam("p_account"),
            kind=bindparam("p_kind"),
            reference=bindparam("p_reference"),
            amount_minor=bindparam("p_amount"),
            balance_after_minor=select(moved.c.balance_minor).scalar_subquery(),
            created_at=func.clock_timestamp(),  # applied under the lock, as wallet_store's entries
        )
        .returning(ledger_entry.c.id)
        .cte("entered")
    )
    return select(entered.c.id)
