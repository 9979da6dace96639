"""Keeping in-memory state (IP rules, revoked sessions) in step with its owner, auth.

Events keep the state current; a resync from auth's snapshot covers what a
queue of one's own missed while disconnected. Until the first one works it is
retried with backoff; after that it runs every few minutes as a backstop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

RESYNC_SECONDS = 300.0


async def resync_forever(resync: Callable[[], Awaitable[object]], *, what: str, every: float = RESYNC_SECONDS) -> None:
    """Run `resync` until it works (backoff 0.5 s → 10 s), then every `every` seconds."""
    delay = 0.5
    while True:
        try:
            await resync()
        except Exception as exc:
            log.warning("resync of %s with auth failed (%s); retrying in %.1fs", what, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
            continue
        delay = 0.5
        await asyncio.sleep(every)


async def resync_after_reconnect(resync: Callable[[], Awaitable[object]], *, what: str) -> None:
    """A bus reconnect's listener: one resync, its failure left to the periodic one."""
    try:
        await resync()
    except Exception:
        log.exception("resync of %s after reconnect failed; the periodic resync will retry", what)
