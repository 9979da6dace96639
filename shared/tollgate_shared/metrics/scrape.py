"""Gauges read when Prometheus scrapes, at most once per interval each.

A running service adds its readers (the outbox's depth from its database, the
dead-letter queues' depths from the broker, …) to `SCRAPE_READERS`; the
management port awaits them before it renders the registry. Each reader runs
at most once per its `every` seconds whatever the number of scrapers, and is
cut off after `READ_TIMEOUT`: a database or broker that does not answer leaves
the gauges at their last values and the scrape still answers at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

Reader = Callable[[], Awaitable[None]]
READ_TIMEOUT = 2.0
DATABASE_EVERY = 2.0
"""Seconds between two readings of a database (a count over a partial index or so)."""
BROKER_EVERY = 10.0
"""Seconds between two readings of the broker's queue depths (passive declares)."""


@dataclass(eq=False)
class _Reader:
    name: str
    read: Reader
    every: float
    last: float = float("-inf")
    running: asyncio.Task[None] | None = None


class ScrapeReaders:
    """The readers of this process; the scrape awaits those that are due, all at once."""

    def __init__(self) -> None:
        self._readers: list[_Reader] = []

    def add(self, name: str, read: Reader, *, every: float) -> Callable[[], None]:
        """Read `read` at scrapes, at most every `every` seconds; answers the function that removes it."""
        reader = _Reader(name, read, every)
        self._readers.append(reader)
        return lambda: self._remove(reader)

    def _remove(self, reader: _Reader) -> None:
        with contextlib.suppress(ValueError):
            self._readers.remove(reader)
        if reader.running is not None:
            reader.running.cancel()

    async def read_due(self) -> None:
        """Run the readers that are due (a scrape arriving meanwhile waits for the same run)."""
        now = time.monotonic()
        waiting = []
        for reader in list(self._readers):
            if reader.running is None and now - reader.last >= reader.every:
                reader.last = now
                reader.running = asyncio.create_task(self._run(reader), name=f"metrics-{reader.name}")
            if reader.running is not None:
                waiting.append(reader.running)
        if waiting:
            await asyncio.gather(*(asyncio.shield(task) for task in waiting), return_exceptions=True)

    async def _run(self, reader: _Reader) -> None:
        try:
            await asyncio.wait_for(reader.read(), timeout=READ_TIMEOUT)
        except Exception as exc:
            # The gauges keep their last values; whatever is away is reported elsewhere (readiness, logs).
            log.info("metrics reader %s failed (%r); its gauges keep their last values", reader.name, exc)
        finally:
            reader.running = None


SCRAPE_READERS = ScrapeReaders()
"""The process's readers, like the process's one registry."""
