"""Every service's migrations go up, down and up again, and match its tables exactly."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tests.support.harness import DatabaseFactory
from tollgate.services import BACKEND_SERVICES, SERVICES
from tollgate_shared.db import create_engine
from tollgate_shared.migrations import alembic_config, upgrade

pytestmark = pytest.mark.integration


async def _differences(url: str, metadata: Any) -> list[Any]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(lambda sync: compare_metadata(MigrationContext.configure(sync), metadata))
    finally:
        await engine.dispose()


def _round_trip(migrations: Path, url: str) -> None:
    upgrade(migrations, url)
    command.downgrade(alembic_config(migrations, url), "base")
    upgrade(migrations, url)


@pytest.mark.parametrize("service", BACKEND_SERVICES)
async def test_migrations_round_trip_and_match_the_tables_on_postgresql(
    service: str, databases: DatabaseFactory
) -> None:
    entry = SERVICES[service]
    assert entry.migrations is not None
    url = await databases.fresh(service)  # already at head
    await asyncio.to_thread(_round_trip, entry.migrations, url)
    metadata = __import__(f"{service}.adapters.tables", fromlist=["metadata"]).metadata
    assert await _differences(url, metadata) == []


@pytest.mark.parametrize("service", BACKEND_SERVICES)
async def test_migrations_round_trip_and_match_the_tables_on_sqlite(service: str, tmp_path: Path) -> None:
    entry = SERVICES[service]
    assert entry.migrations is not None
    url = f"sqlite+aiosqlite:///{tmp_path / service}.db"
    await asyncio.to_thread(_round_trip, entry.migrations, url)
    metadata = __import__(f"{service}.adapters.tables", fromlist=["metadata"]).metadata
    assert await _differences(url, metadata) == []


@pytest.mark.parametrize("kind", ["postgresql", "sqlite"])
async def test_auth_drops_the_zone_index_of_stored_ip_rules(
    kind: str, databases: DatabaseFactory, tmp_path: Path
) -> None:
    migrations = SERVICES["auth"].migrations
    assert migrations is not None
    if kind == "postgresql":
        url = await databases.fresh("auth")
        await asyncio.to_thread(command.downgrade, alembic_config(migrations, url), "0003")
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'auth.db'}"
        await asyncio.to_thread(upgrade, migrations, url, "0003")
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO account (id, name, enforce_totp, ip_rules_revision, created_at) "
                    "VALUES ('a', 'Acme', false, 1, CURRENT_TIMESTAMP)"
                )
            )
            for rule_id, start, end in [("zoned", "fe80::1%eth0", "fe80::ff%eth0"), ("plain", "10.0.0.1", "10.0.0.9")]:
                await connection.execute(
                    text(
                        "INSERT INTO ip_rule (id, account_id, start_ip, end_ip, description, enabled, created_at, "
                        "created_by, updated_at) VALUES (:id, 'a', :start, :end, '', true, CURRENT_TIMESTAMP, 'x', "
                        "CURRENT_TIMESTAMP)"
                    ),
                    {"id": rule_id, "start": start, "end": end},
                )
        await asyncio.to_thread(upgrade, migrations, url)
        async with engine.connect() as connection:
            rows = (await connection.execute(text("SELECT id, start_ip, end_ip FROM ip_rule ORDER BY id"))).all()
    finally:
        await engine.dispose()
    assert [tuple(row) for row in rows] == [("plain", "10.0.0.1", "10.0.0.9"), ("zoned", "fe80::1", "fe80::ff")]


def offline_row(payment_id: str, account: str, reference: str, status: str, hour: int) -> dict[str, Any]:
    return {
        "id": payment_id,
        "account_id": account,
        "amount_minor": 500000,
        "currency": "INR",
        "mode": "neft",
        "reference": reference,
        "paid_on": date(2026, 5, 1),
        "submitted_by": "u",
        "status": status,
        "created_at": datetime(2026, 5, 1, hour, tzinfo=UTC),
    }


@pytest.mark.parametrize("kind", ["postgresql", "sqlite"])
async def test_billing_allows_one_live_submission_per_reference_and_leaves_older_duplicates_as_they_were(
    kind: str, databases: DatabaseFactory, tmp_path: Path
) -> None:
    from billing.adapters.tables import offline_payment

    migrations = SERVICES["billing"].migrations
    assert migrations is not None
    if kind == "postgresql":
        url = await databases.fresh("billing")
        await asyncio.to_thread(command.downgrade, alembic_config(migrations, url), "0005")
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'billing.db'}"
        await asyncio.to_thread(upgrade, migrations, url, "0005")
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            for row in [
                offline_row("a1", "a", "UTR0001", "approved", 10),
                offline_row("a2", "a", "utr-0001", "approved", 11),  # issue 15: the same transfer credited twice
                offline_row("a3", "a", "UTR 0001", "pending_approval", 12),
                offline_row("a4", "a", "UTR0002", "rejected", 10),
                offline_row("b1", "b", "UTR0001", "pending_approval", 10),
            ]:
                await connection.execute(offline_payment.insert().values(**row))
        await asyncio.to_thread(upgrade, migrations, url)
        async with engine.connect() as connection:
            keys = dict((await connection.execute(text("SELECT id, reference_key FROM offline_payment"))).all())
        # The first of each live reference is under the rule; duplicates recorded before it stay as they were.
        assert keys == {"a1": "UTR0001", "a2": None, "a3": None, "a4": "UTR0002", "b1": "UTR0001"}
        with pytest.raises(IntegrityError):
            async with engine.begin() as connection:
                again = offline_row("a5", "a", "utr0001", "pending_approval", 13)
                await connection.execute(offline_payment.insert().values(**again, reference_key="UTR0001"))
        async with engine.begin() as connection:  # a4 was rejected: its reference is free
            again = offline_row("a6", "a", "UTR0002", "pending_approval", 13)
            await connection.execute(offline_payment.insert().values(**again, reference_key="UTR0002"))
    finally:
        await engine.dispose()
