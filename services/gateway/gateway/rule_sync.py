"""Keeping the IP rules and revoked sessions current at this gateway instance.

A snapshot from auth at start; then `auth.ip_rules.changed` and
`auth.session.revoked` on a queue of this instance's own (every instance sees
every change); a full resync after any bus reconnect (what the queue missed
while disconnected) and every few minutes as a backstop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from gateway.ip_index import IpRuleIndex
from gateway.revocations import RevokedSessions
from tollgate_shared.bus import Delivery, Subscription
from tollgate_shared.events.catalogue import IpRulesChanged, SessionRevoked
from tollgate_shared.inbox import parse_delivery

log = logging.getLogger(__name__)

FetchJson = Callable[[str], Awaitable[dict[str, Any]]]
RESYNC_SECONDS = 300.0
BROADCAST_QUEUE = "gateway.auth-broadcast"


class RuleSync:
    def __init__(self, index: IpRuleIndex, revoked: RevokedSessions, fetch: FetchJson) -> None:
        self.index = index
        self.revoked = revoked
        self.fetch = fetch
        self.synced = asyncio.Event()

    def subscription(self) -> Subscription:
        return Subscription(
            BROADCAST_QUEUE, ("auth.ip_rules.changed", "auth.session.revoked"), self.on_event, broadcast=True
        )

    async def on_event(self, delivery: Delivery) -> None:
        envelope = parse_delivery(delivery)
        if envelope.type == "auth.ip_rules.changed":
            change = IpRulesChanged.model_validate(envelope.data)
            rules = [rule.model_dump() for rule in change.rules]
            if self.index.apply(change.account_id, rules, change.revision):
                log.info("ip rules of %s now at revision %d", change.account_id, change.revision)
        elif envelope.type == "auth.session.revoked":
            self.revoked.revoke(SessionRevoked.model_validate(envelope.data).session_id)

    async def resync(self) -> None:
        """Everything from auth: the rules of every account and the recently revoked sessions."""
        snapshot = await self.fetch("/internal/ip-rules")
        changed = self.index.load_snapshot(snapshot["accounts"])
        revoked = await self.fetch("/internal/revoked-sessions")
        for session_id in revoked["session_ids"]:
            self.revoked.revoke(session_id)
        self.synced.set()
        log.info(
            "resynchronised with auth: %d accounts changed, %d revoked sessions", changed, len(revoked["session_ids"])
        )

    async def keep_in_sync(self) -> None:
        """Resync until it works, then every few minutes."""
        delay = 0.5
        while True:
            try:
                await self.resync()
            except Exception as exc:
                log.warning("resync with auth failed (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            delay = 0.5
            await asyncio.sleep(RESYNC_SECONDS)

    async def on_reconnect(self) -> None:
        try:
            await self.resync()
        except Exception:
            log.exception("resync after reconnect failed; the periodic resync will retry")
