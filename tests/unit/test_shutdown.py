"""The shutdown switch and how it shares the grace period (DESIGN §10, lifecycle.py)."""

from __future__ import annotations

import asyncio

import pytest

from tollgate_shared.lifecycle import CLOSE_RESERVE_SECONDS, Shutdown


@pytest.mark.parametrize(("grace", "drain", "flush"), [(20, 14, 5), (8, 5, 2), (60, 54, 5)])
def test_the_grace_is_shared_between_draining_flushing_and_closing(grace: float, drain: float, flush: float) -> None:
    shutdown = Shutdown(grace)
    assert shutdown.drain_seconds == drain
    assert shutdown.flush_reserve == flush
    assert shutdown.drain_seconds + shutdown.flush_reserve + CLOSE_RESERVE_SECONDS == grace


async def test_the_switch_turns_once_and_wakes_what_waits_for_it() -> None:
    shutdown = Shutdown(20)
    waiting = asyncio.create_task(shutdown.began())
    await asyncio.sleep(0)
    assert not shutdown.shutting_down and not waiting.done()
    shutdown.begin()
    first = shutdown.began_at
    await asyncio.wait_for(waiting, timeout=1)
    shutdown.begin()  # a second signal changes no deadline
    assert shutdown.shutting_down and shutdown.began_at == first
    assert 13.9 < shutdown.drain_left() <= 14 and 18.9 < shutdown.flush_left() <= 19
