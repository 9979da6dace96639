"""Consumers pause once per outage of what they depend on, and resume by themselves when it answers."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests.harness import wait_for
from tollgate_shared.bus import Delivery, DependencyUnavailable, Subscription
from tollgate_shared.bus import outages as outages_module
from tollgate_shared.bus.outages import Outages


async def ignore(_delivery: Delivery) -> None:
    return None


WALLETS = Subscription("billing.auth-events", ("auth.account.created",), ignore, depends_on="database")
DECISIONS = Subscription("billing.finance-decisions", ("finance.#",), ignore, depends_on="database")


class Database:
    """Answers once `up` is set; counts the probes."""

    def __init__(self) -> None:
        self.up = False
        self.probes = 0

    async def answers(self) -> bool:
        self.probes += 1
        return self.up


async def test_an_outage_pauses_each_consumer_once_and_resumes_them_when_the_database_answers(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(outages_module, "FIRST_PROBE_SECONDS", 0.01)
    monkeypatch.setattr(outages_module, "MAX_PROBE_SECONDS", 0.02)
    switched: list[tuple[str, str]] = []

    async def stop(sub: Subscription) -> None:
        switched.append(("stop", sub.queue))

    async def start(sub: Subscription) -> None:
        switched.append(("start", sub.queue))

    database = Database()
    outages = Outages(stop=stop, start=start, owner="billing-1")
    with caplog.at_level(logging.INFO, logger="tollgate_shared.bus.outages"):
        for _ in range(3):  # every delivery in hand reports it
            outages.begin(DependencyUnavailable("database", database.answers), [WALLETS, DECISIONS])
        await wait_for(lambda: _at_least(database, 3), timeout=5, interval=0.01)

        assert outages.dependencies == {"database"}
        assert switched == [("stop", WALLETS.queue), ("stop", DECISIONS.queue)]

        database.up = True
        await wait_for(lambda: _resumed(outages), timeout=5, interval=0.01)
    assert switched[2:] == [("start", WALLETS.queue), ("start", DECISIONS.queue)]
    messages = [(record.levelname, record.getMessage()) for record in caplog.records]
    assert [level for level, _ in messages] == ["WARNING", "INFO"]  # once at the pause, once at the resume
    assert "billing.auth-events, billing.finance-decisions" in messages[0][1]


async def _at_least(database: Database, probes: int) -> bool:
    return database.probes >= probes


async def _resumed(outages: Outages) -> bool:
    await asyncio.sleep(0)
    return not outages.dependencies
