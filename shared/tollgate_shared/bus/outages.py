"""Consumers that stop while a dependency is down and start again by themselves (DESIGN §10).

When a handler raises `DependencyUnavailable`, the bus gives the message back
and `Outages.begin` stops every subscription that depends on the same thing
(its service's database). One task per dependency then asks `answers()` after
0.5 s, and again with the wait doubling up to 5 s (`TOLLGATE_BUS_OUTAGE_PROBE_MAX_SECONDS`),
until it is true, and starts them again. Logged once when consuming pauses and once when it resumes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from functools import partial

from tollgate_shared.bus.base import DependencyUnavailable, Subscription

log = logging.getLogger(__name__)

FIRST_PROBE_SECONDS = 0.5
"""The shortest pause: a failure that is already over still waits this long, so a
dependency that answers a probe but fails handlers cannot spin the consumers."""
MAX_PROBE_SECONDS = 5.0
"""The longest wait between two probes, unless the bus is given another: how late at most consuming
resumes after the dependency is back."""

Switch = Callable[[Subscription], Awaitable[None]]


class Outages:
    """The dependencies that are down for one bus, and the task waiting out each."""

    def __init__(self, *, stop: Switch, start: Switch, owner: str, max_probe: float | None = None) -> None:
        self._stop = stop
        self._start = start
        self.owner = owner
        self.max_probe = max_probe or MAX_PROBE_SECONDS
        self._waiting: dict[str, asyncio.Task[None]] = {}
        self._closed = False

    @property
    def dependencies(self) -> frozenset[str]:
        """What the consumers are paused for now."""
        return frozenset(self._waiting)

    def begin(self, outage: DependencyUnavailable, subscriptions: Sequence[Subscription]) -> None:
        """Pause `subscriptions` until `outage.answers()`; nothing more when this outage is known."""
        if outage.dependency in self._waiting or self._closed:
            return  # known already, or shutting down: nothing is to resume
        cause = outage.__cause__
        log.warning(
            "%s: %s unavailable (%s); consuming %s paused until it answers",
            self.owner,
            outage.dependency,
            _first_line(cause),
            ", ".join(sub.queue for sub in subscriptions),
        )
        self._waiting[outage.dependency] = asyncio.create_task(
            self._wait_out(outage, subscriptions), name=f"{self.owner}-{outage.dependency}-outage"
        )

    async def _wait_out(self, outage: DependencyUnavailable, subscriptions: Sequence[Subscription]) -> None:
        began = time.monotonic()
        try:
            for sub in subscriptions:
                try:
                    await self._stop(sub)
                except Exception as exc:  # a closed channel has no consumer left to stop
                    log.warning("%s: could not stop consuming %s (%s)", self.owner, sub.queue, exc)
            await asyncio.sleep(FIRST_PROBE_SECONDS)
            await _until(outage.answers, self.max_probe)
            for sub in subscriptions:
                await _until(partial(self._started, sub), self.max_probe)
        finally:
            del self._waiting[outage.dependency]
        log.info(
            "%s: %s answers again; consuming %s resumed after %.1fs",
            self.owner,
            outage.dependency,
            ", ".join(sub.queue for sub in subscriptions),
            time.monotonic() - began,
        )

    async def _started(self, sub: Subscription) -> bool:
        try:
            await self._start(sub)
        except Exception as exc:  # the broker connection is being restored: try again
            log.warning("%s: could not resume consuming %s yet (%s)", self.owner, sub.queue, exc)
            return False
        return True

    async def close(self) -> None:
        """Stop waiting out outages, and start no new wait (the bus is shutting down)."""
        self._closed = True
        tasks = list(self._waiting.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _first_line(error: BaseException | None) -> str:
    if error is None:
        return "no cause"
    # SQLAlchemy's messages go on with the statement and its parameters.
    first = str(error).split("\n", 1)[0][:300]
    return f"{type(error).__name__}: {first}"


async def _until(attempt: Callable[[], Awaitable[bool]], longest: float) -> None:
    """Call `attempt` until it is true, waiting 0.5 s after the first failure and doubling to `longest`.

    An attempt that raises counts as false: the consumers must not stay paused for good.
    """
    delay = FIRST_PROBE_SECONDS
    while True:
        try:
            if await attempt():
                return
        except Exception:
            log.exception("probe of a paused consumer's dependency failed")
        await asyncio.sleep(delay)
        delay = min(delay * 2, longest)
