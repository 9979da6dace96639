"""Money on both databases billing runs on: `apply_to_wallet` and `place_order`.

PostgreSQL moves the money and writes its ledger entry in one statement (a
data-modifying `WITH`); SQLite, the embedded mode, has none and runs the two
statements under the same lock. An order is announced before its money moves,
and announced again if the balance falls short. Both must give the same answers.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing.adapters.tables import ledger_entry, messaging, metadata, wallet
from billing.domain.calendar import india_today, start_of_day
from billing.domain.ledger import Applied, BalanceLimit, InsufficientCredits
from billing.domain.orders import Item
from billing.use_cases.apply_to_wallet import apply_to_wallet
from billing.use_cases.forecast_credits import balance_history, forecast_of
from billing.use_cases.place_order import place_order
from tests.support.billing import store_profile
from tests.support.harness import DatabaseFactory
from tests.support.settings import settings_for
from tollgate_shared.money import MAX_MINOR
from tollgate_shared.outbox import outbox_session_info

pytestmark = pytest.mark.integration

ACCOUNT = "00000000-0000-4000-8000-000000000001"


@pytest.fixture(params=["postgresql", "sqlite"])
async def sessions(
    request: pytest.FixtureRequest, databases: DatabaseFactory, tmp_path: Path
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = await databases.engine_with_tables(request.param, metadata, tmp_path)
    yield async_sessionmaker(engine, expire_on_commit=False, info=outbox_session_info(messaging, "billing"))
    await engine.dispose()


async def apply(
    sessions: async_sessionmaker[AsyncSession], amount_minor: int, reference: str, entry_id: str | None = None
) -> Applied:
    async with sessions() as db, db.begin():
        return await apply_to_wallet(
            db,
            account_id=ACCOUNT,
            kind="adjustment",
            reference=reference,
            amount_minor=amount_minor,
            currency="INR",
            entry_id=entry_id,
        )


async def state(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, list[tuple[str, int, int]], list[str]]:
    """The balance, the entries (reference, amount, balance after) in order, the events' types."""
    async with sessions() as db:
        balance = await db.scalar(select(wallet.c.balance_minor).where(wallet.c.account_id == ACCOUNT))
        entries = await db.execute(
            select(ledger_entry.c.reference, ledger_entry.c.amount_minor, ledger_entry.c.balance_after_minor).order_by(
                ledger_entry.c.balance_after_minor.desc()
            )
        )
        events = await db.scalars(select(messaging.outbox.c.event_type).order_by(messaging.outbox.c.seq))
        return int(balance or 0), [tuple(row) for row in entries], list(events)


async def test_a_credit_opens_the_wallet_and_its_reference_applies_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first = await apply(sessions, 500_00, "top-up-1")
    again = await apply(sessions, 500_00, "top-up-1")

    assert first.already_applied is False and first.balance_after_minor == 500_00
    assert again == Applied(first.entry_id, 500_00, 500_00, already_applied=True)
    assert await state(sessions) == (500_00, [("top-up-1", 500_00, 500_00)], ["billing.credits.added"])


async def test_a_debit_takes_the_entry_id_given_and_one_beyond_the_balance_changes_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await apply(sessions, 300_00, "top-up")
    paid = await apply(sessions, -120_00, "order-1", entry_id="00000000-0000-4000-8000-0000000000e1")
    with pytest.raises(InsufficientCredits):
        await apply(sessions, -200_00, "order-2")

    assert paid == Applied("00000000-0000-4000-8000-0000000000e1", -120_00, 180_00, already_applied=False)
    balance, entries, _ = await state(sessions)
    assert balance == 180_00 and entries == [("top-up", 300_00, 300_00), ("order-1", -120_00, 180_00)]
    async with sessions() as db:
        assert await db.scalar(select(func.count()).select_from(ledger_entry)) == 2


async def test_a_credit_past_the_maximum_balance_changes_nothing_and_a_repeat_at_it_answers_its_entry(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first = await apply(sessions, MAX_MINOR - 100_00, "large")
    last = await apply(sessions, 100_00, "to-the-top")
    with pytest.raises(BalanceLimit):
        await apply(sessions, 1, "one-paisa-more")

    assert last.balance_after_minor == MAX_MINOR
    assert (await apply(sessions, 100_00, "to-the-top")).already_applied  # at the maximum: found, not refused
    assert await state(sessions) == (
        MAX_MINOR,
        [("to-the-top", 100_00, MAX_MINOR), ("large", MAX_MINOR - 100_00, first.balance_after_minor)],
        ["billing.credits.added", "billing.credits.added"],
    )


async def test_an_order_is_paid_and_announced_once_and_one_not_covered_is_announced_as_awaiting(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    settings = settings_for("billing")
    items = [Item("OV SSL certificate, 1 year", "998319", 1, Decimal("500.00"))]  # 590.00 with GST
    await apply(sessions, 1000_00, "top-up")
    async with sessions() as db, db.begin():
        await store_profile(db, ACCOUNT)  # what an order needs
    for order_id in ("paid", "short"):
        async with sessions() as db, db.begin():
            await place_order(db, account_id=ACCOUNT, order_id=order_id, items=items, settings=settings)

    balance, entries, _ = await state(sessions)
    assert balance == 410_00 and entries == [("top-up", 1000_00, 1000_00), ("paid", -590_00, 410_00)]
    async with sessions() as db:
        outbox = messaging.outbox
        rows = await db.execute(select(outbox.c.event_type, outbox.c.payload).order_by(outbox.c.seq))
        announced = [(event_type, json.loads(payload)["data"]) for event_type, payload in rows]
        entry_id = await db.scalar(select(ledger_entry.c.id).where(ledger_entry.c.reference == "paid"))
    orders = [(event_type, data["order_id"], data["status"]) for event_type, data in announced[1:]]
    assert orders == [
        ("billing.order.placed", "paid", "paid"),
        ("billing.order.paid", "paid", "paid"),
        ("billing.order.placed", "short", "awaiting_payment"),  # the paid announcement taken back
    ]
    assert announced[2][1]["payment_reference"] == entry_id


async def test_the_balance_history_closes_india_days_and_the_forecast_sums_debits_on_both_databases(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    now = datetime.now(UTC)
    today = india_today(now)
    await apply(sessions, 1000_00, "late-yesterday")
    await apply(sessions, -300_00, "early-today")
    async with sessions() as db, db.begin():
        for reference, moment in (
            ("late-yesterday", start_of_day(today) - timedelta(minutes=1)),  # 23:59 in India
            ("early-today", start_of_day(today) + timedelta(minutes=1)),  # 00:01 in India
        ):
            await db.execute(
                update(ledger_entry).where(ledger_entry.c.reference == reference).values(created_at=moment)
            )
    async with sessions() as db:
        _, points = await balance_history(db, ACCOUNT, days=3, currency="INR", now=now)
        assert points == [(today - timedelta(days=2), 0), (today - timedelta(days=1), 1000_00), (today, 700_00)]
        found = await forecast_of(db, ACCOUNT, now=now)
    assert (found.daily_spend_minor, found.days_left) == (10_00, 70)  # 300.00 / 30; 700.00 lasts 70 days
