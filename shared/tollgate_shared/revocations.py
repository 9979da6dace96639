"""Sessions revoked since their tokens were issued: refused at once, not at expiry.

Auth revokes a session on logout, deactivation, a 2FA reset or a reused
refresh token, and publishes `auth.session.revoked`. Every gateway instance
and every replica of billing and invoicing keeps the recent ones in memory
(`RevocationFeed`: a snapshot from auth, then the events on a queue of the
instance's own, a resync after any reconnect), so a revoked session is refused
by every service, not only by the edge and auth (which reads its database).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from tollgate_shared.bus import Delivery, Subscription
from tollgate_shared.events.models import SessionRevoked
from tollgate_shared.inbox import parse_delivery
from tollgate_shared.resync import resync_after_reconnect, resync_forever

FetchJson = Callable[[str], Awaitable[dict[str, Any]]]
SNAPSHOT_PATH = "/internal/revoked-sessions"


class RevokedSessions:
    def __init__(self, remember_seconds: float) -> None:
        # Past an access token's lifetime a revoked session has no live token left.
        self.remember_seconds = remember_seconds
        self._until: dict[str, float] = {}

    def revoke(self, session_id: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._until[session_id] = now + self.remember_seconds
        if len(self._until) % 1024 == 0:
            self._forget_expired(now)

    def is_revoked(self, session_id: str, now: float | None = None) -> bool:
        until = self._until.get(session_id)
        return until is not None and until > (time.monotonic() if now is None else now)

    def _forget_expired(self, now: float) -> None:
        self._until = {k: v for k, v in self._until.items() if v > now}


def revocation_queue(service: str) -> str:
    """The name each instance's queue of revocations starts with (`<this>.<connection name>`)."""
    return f"{service}.session-revocations"


class RevocationFeed:
    """Keeps a service instance's `RevokedSessions` current (billing, invoicing).

    `loaded` is set once the first snapshot arrived; until then the service
    cannot tell a revoked session from a live one and refuses callers (fail closed).
    """

    def __init__(self, service: str, revoked: RevokedSessions, fetch: FetchJson) -> None:
        self.queue = revocation_queue(service)
        self.revoked = revoked
        self.fetch = fetch
        self.loaded = asyncio.Event()

    def subscription(self) -> Subscription:
        return Subscription(self.queue, ("auth.session.revoked",), self.on_event, broadcast=True)

    async def on_event(self, delivery: Delivery) -> None:
        data = parse_delivery(delivery).parsed_data()  # poison rules of every consumer
        if isinstance(data, SessionRevoked):
            self.revoked.revoke(data.session_id)

    async def resync(self) -> int:
        """The sessions auth revoked within a token's lifetime; how many."""
        snapshot = await self.fetch(SNAPSHOT_PATH)
        for session_id in snapshot["session_ids"]:
            self.revoked.revoke(session_id)
        self.loaded.set()
        return len(snapshot["session_ids"])

    async def keep_in_sync(self) -> None:
        await resync_forever(self.resync, what="revoked sessions")

    async def on_reconnect(self) -> None:
        await resync_after_reconnect(self.resync, what="revoked sessions")
