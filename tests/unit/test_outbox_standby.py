"""The outbox relay stands by while another replica's relay publishes what its commits announce."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tollgate_shared.outbox_relay import BATCH_WAIT_SECONDS, STANDBY_SECONDS, OutboxRelay


class ScriptedRelay(OutboxRelay):
    """Cycles that publish the scripted counts; each is followed by a commit of this process (a wake-up)."""

    def __init__(self, published: list[int]) -> None:
        super().__init__(None, None, None)  # type: ignore[arg-type]  # no database or bus: cycles are scripted
        self.script = list(published)

    async def _forget_old_entries(self, now: Any) -> None:
        pass

    async def relay_once(self) -> int:
        if not self.script:
            raise asyncio.CancelledError
        self.wake()
        return self.script.pop(0)


async def pauses_after(published: list[int], monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The pauses the relay took between the scripted cycles."""
    pauses: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(seconds: float, *args: Any) -> None:
        pauses.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    with pytest.raises(asyncio.CancelledError):
        await ScriptedRelay(published).run()
    return pauses


async def test_two_empty_cycles_in_a_row_make_the_relay_stand_by(monkeypatch: pytest.MonkeyPatch) -> None:
    # 3 events (the first cycle, not woken); then woken: nothing, nothing (stand by),
    # nothing (still standing by); 4 events (back to work); nothing once (chance: no standby).
    pauses = await pauses_after([3, 0, 0, 0, 4, 0, 2], monkeypatch)
    wait, standby = BATCH_WAIT_SECONDS, STANDBY_SECONDS
    assert pauses == [wait, wait, standby, wait, standby, wait, wait, wait, wait]


async def test_a_relay_that_finds_events_never_stands_by(monkeypatch: pytest.MonkeyPatch) -> None:
    pauses = await pauses_after([1, 2, 0, 3, 0, 1], monkeypatch)
    assert STANDBY_SECONDS not in pauses
