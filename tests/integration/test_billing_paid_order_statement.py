"""An order paid from credits in one statement (billing/adapters/paid_order_store.py), on PostgreSQL.

The statement writes the move, its ledger entry, the order and both events, or nothing: when it writes,
it has committed before the request's transaction ends (no `BEGIN`, no `COMMIT`); whenever it cannot
write all of it the ordinary path places the order, inside the transaction. Each case is told apart by
what another session sees while the placing transaction is still open.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing.adapters.tables import ledger_entry, messaging, metadata, order, wallet
from billing.domain.ledger import EntryKind
from billing.domain.orders import Item, Order, OrderStatus
from billing.use_cases.apply_to_wallet import apply_to_wallet
from billing.use_cases.place_order import place_order
from billing.use_cases.profiles import set_profile
from tests.support.billing import store_profile
from tests.support.harness import DatabaseFactory
from tests.support.settings import settings_for
from tollgate_shared import direct_sql
from tollgate_shared.outbox import outbox_session_info

pytestmark = pytest.mark.integration

ACCOUNT = "00000000-0000-4000-8000-000000000002"
ITEMS = [Item("OV SSL certificate, 1 year", "998319", 1, Decimal("500.00"))]  # 590.00 with GST


@pytest.fixture
async def sessions(databases: DatabaseFactory, tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = await databases.engine_with_tables("postgresql", metadata, tmp_path)
    made = async_sessionmaker(engine, expire_on_commit=False, info=outbox_session_info(messaging, "billing"))
    async with made() as db, db.begin():
        await store_profile(db, ACCOUNT)
        await apply_to_wallet(
            db, account_id=ACCOUNT, kind=EntryKind.ADJUSTMENT, reference="top-up", amount_minor=1000_00, currency="INR"
        )
    yield made
    await engine.dispose()


async def written(sessions: async_sessionmaker[AsyncSession], order_id: str) -> tuple[int, int, int, int]:
    """What another session sees: the balance, and how many orders, order entries and order events `order_id` has."""
    async with sessions() as db:
        balance = await db.scalar(select(wallet.c.balance_minor).where(wallet.c.account_id == ACCOUNT))
        orders = await db.scalar(select(func.count()).select_from(order).where(order.c.order_id == order_id))
        entries = await db.scalar(
            select(func.count()).select_from(ledger_entry).where(ledger_entry.c.reference == order_id)
        )
        payloads = await db.scalars(select(messaging.outbox.c.payload))
        events = sum(1 for payload in payloads if json.loads(payload)["data"].get("order_id") == order_id)
        return int(balance or 0), int(orders or 0), int(entries or 0), events


async def place(db: AsyncSession, order_id: str) -> Order:
    return await place_order(db, account_id=ACCOUNT, order_id=order_id, items=ITEMS, settings=settings_for("billing"))


async def test_a_covered_order_is_written_whole_and_committed_by_its_one_statement(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as db, db.begin():
        placed = await place(db, "one-statement")
        assert not await direct_sql.in_transaction(db)  # nothing sent BEGIN: the statement committed alone
        assert await written(sessions, "one-statement") == (410_00, 1, 1, 2)  # seen before this transaction ends
    assert placed.status == OrderStatus.PAID and placed.total_minor == 590_00
    async with sessions() as db:
        rows = await db.execute(select(messaging.outbox.c.event_type, messaging.outbox.c.payload).order_by("seq"))
        announced = [(event_type, json.loads(payload)["data"]) for event_type, payload in rows][-2:]
        entry = (await db.execute(select(ledger_entry).where(ledger_entry.c.reference == "one-statement"))).one()
    assert [event_type for event_type, _ in announced] == ["billing.order.placed", "billing.order.paid"]
    assert announced[1][1]["payment_reference"] == entry.id
    assert (entry.kind, entry.amount_minor, entry.balance_after_minor) == ("order", -590_00, 410_00)


async def test_a_repeated_order_id_is_answered_by_the_order_there_and_charges_nothing_more(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as db, db.begin():
        first = await place(db, "again")
    async with sessions() as db, db.begin():
        again = await place(db, "again")
        assert await direct_sql.in_transaction(db)  # the ordinary path found the order
    assert again == first
    assert await written(sessions, "again") == (410_00, 1, 1, 2)


async def test_an_order_the_credits_do_not_cover_is_written_by_the_ordinary_path_as_awaiting(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as db, db.begin():
        await place(db, "first")  # 410.00 left: the next is not covered
    async with sessions() as db, db.begin():
        short = await place(db, "short")
        assert await direct_sql.in_transaction(db)
        assert await written(sessions, "short") == (410_00, 0, 0, 0)  # the statement wrote nothing
    assert short.status == OrderStatus.AWAITING_PAYMENT
    assert await written(sessions, "short") == (410_00, 1, 0, 1)  # placed, awaiting; no money moved


async def test_an_order_that_takes_the_balance_below_the_threshold_is_announced_by_the_ordinary_path(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as db, db.begin():
        await db.execute(update(wallet).values(low_balance_threshold_minor=500_00, below_threshold=False))
    async with sessions() as db, db.begin():
        await place(db, "crossing")
        assert await direct_sql.in_transaction(db)
        assert await written(sessions, "crossing") == (1000_00, 0, 0, 0)
    assert await written(sessions, "crossing") == (410_00, 1, 1, 2)
    async with sessions() as db:
        types = list(await db.scalars(select(messaging.outbox.c.event_type).order_by(messaging.outbox.c.seq)))
    assert types[-1] == "billing.balance.low"


async def test_an_entry_already_there_for_the_order_undoes_the_whole_statement_and_the_session_goes_on(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # The order's ledger entry conflicts after the wallet's row has moved: a unique violation, which must
    # undo the move and leave the session usable for the ordinary path.
    async with sessions() as db, db.begin():
        await apply_to_wallet(
            db, account_id=ACCOUNT, kind=EntryKind.ORDER, reference="entered", amount_minor=-1_00, currency="INR"
        )
    async with sessions() as db, db.begin():
        placed = await place(db, "entered")
        assert await direct_sql.in_transaction(db)
        assert await written(sessions, "entered") == (999_00, 0, 1, 0)
    # The ordinary path answers the entry there (applied once) and charges nothing more.
    assert placed.status == OrderStatus.PAID
    assert await written(sessions, "entered") == (999_00, 1, 1, 2)


async def test_inside_a_begun_transaction_the_order_is_part_of_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as db, db.begin():
        await db.execute(select(1))  # the transaction has begun on the connection
        await place(db, "inside")
        assert await written(sessions, "inside") == (1000_00, 0, 0, 0)
        await db.rollback()
    assert await written(sessions, "inside") == (1000_00, 0, 0, 0)


async def test_an_order_after_the_profile_changed_is_priced_for_the_buyer_now_on_record(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # The first order remembers the profile (Karnataka, as the seller: CGST and SGST); the administrator then
    # moves the buyer to Maharashtra. The next order must not be priced for the remembered buyer.
    async with sessions() as db, db.begin():
        within = await place(db, "within-the-state")
    async with sessions() as db, db.begin():
        await apply_to_wallet(
            db, account_id=ACCOUNT, kind=EntryKind.ADJUSTMENT, reference="more", amount_minor=1000_00, currency="INR"
        )
        await set_profile(
            db, ACCOUNT, legal_name="Acme Mumbai LLP", address="1 Marine Drive, Mumbai", state="Maharashtra", gstin=None
        )
    async with sessions() as db, db.begin():
        across = await place(db, "across-states")
        assert not await direct_sql.in_transaction(db)  # still one statement, once priced for the buyer on record
    assert (within.place_of_supply, within.cgst_minor, within.igst_minor) == ("Karnataka", 45_00, 0)
    assert (across.place_of_supply, across.cgst_minor, across.igst_minor) == ("Maharashtra", 0, 90_00)
    assert json.loads(across.buyer_json)["legal_name"] == "Acme Mumbai LLP"
    async with sessions() as db:
        stored = (await db.execute(select(order).where(order.c.order_id == "across-states"))).one()
        payloads = list(await db.scalars(select(messaging.outbox.c.payload).order_by(messaging.outbox.c.seq)))
    assert (stored.place_of_supply, stored.igst_minor, json.loads(stored.buyer)["state"]) == (
        "Maharashtra",
        90_00,
        "Maharashtra",
    )
    paid = json.loads(payloads[-1])["data"]
    assert (paid["place_of_supply"], paid["buyer"]["legal_name"]) == ("Maharashtra", "Acme Mumbai LLP")
