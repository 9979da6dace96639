"""A process's shutdown: one switch SIGTERM turns, and the deadlines of what follows (DESIGN §10).

`Shutdown.begin()` is idempotent and safe to call from a signal handler: from
then on `/readyz` answers 503 `shutting_down`, and whatever waits on
`began()` (the consumers' drain) starts. The grace period
(`TOLLGATE_SHUTDOWN_GRACE_SECONDS`) is cut into phases, all counted from the
signal:

    0 ............ drain_until ............ flush_until ....... grace
    HTTP drains and consumers finish       outbox flushed      bus and
    their messages (at the same time)                          engine closed

so the process is gone within the grace, and the deploy files give it a little
more before they kill it (`deploy/`, tests/unit/test_deploy_files.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import time

CLOSE_RESERVE_SECONDS = 1.0
"""The end of the grace kept for closing the broker connection and the database pool."""
MAX_FLUSH_RESERVE_SECONDS = 5.0
"""The outbox flush's share: at most this, or a quarter of the grace when that is less."""


class Shutdown:
    """The one-way switch from serving to shutting down, and its deadlines."""

    def __init__(self, grace_seconds: float = 20.0) -> None:
        self.grace = grace_seconds
        self.began_at: float | None = None
        self._began = asyncio.Event()

    @property
    def flush_reserve(self) -> float:
        return min(MAX_FLUSH_RESERVE_SECONDS, self.grace / 4)

    @property
    def drain_seconds(self) -> float:
        """How long in-flight requests and messages get, counted from the signal."""
        return max(self.grace - self.flush_reserve - CLOSE_RESERVE_SECONDS, 0.0)

    @property
    def shutting_down(self) -> bool:
        return self.began_at is not None

    def begin(self) -> None:
        """Turn the switch (again: nothing happens). Safe from a signal handler on the loop's thread."""
        if self.began_at is None:
            self.began_at = time.monotonic()
        with contextlib.suppress(RuntimeError):  # no loop running: nobody waits on the event
            asyncio.get_running_loop().call_soon_threadsafe(self._began.set)

    async def began(self) -> None:
        """Return once the switch is turned."""
        if self.began_at is None:
            await self._began.wait()

    def left_until(self, phase_end: float) -> float:
        """Seconds from now until `phase_end` seconds after the signal (the whole phase before it)."""
        if self.began_at is None:
            return phase_end
        return max(phase_end - (time.monotonic() - self.began_at), 0.0)

    def drain_left(self) -> float:
        return self.left_until(self.drain_seconds)

    def flush_left(self) -> float:
        return self.left_until(self.grace - CLOSE_RESERVE_SECONDS)
