"""Keeping the IP rules and revoked sessions current at this gateway instance.

A snapshot from auth at start; then `auth.ip_rules.changed` and
`auth.session.revoked` on a queue of this instance's own (every instance sees
every change); a full resync after any bus reconnect (what the queue missed
while disconnected) and every few minutes as a backstop.

A large account's rules (100,000 rules are a 15 MB event) are parsed, validated
once and built in a worker thread, then swapped in on the event loop, where the
revision check makes the newest revision win whatever order builds finish in.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import TypeAdapter

from gateway.ip_index import AccountRules, IpRuleIndex
from tollgate_shared.bus import Delivery, PoisonMessage, Subscription
from tollgate_shared.events import Envelope
from tollgate_shared.events.models import IpRule, IpRulesChanged, SessionRevoked
from tollgate_shared.inbox import parse_delivery
from tollgate_shared.resync import resync_after_reconnect, resync_forever
from tollgate_shared.revocations import RevocationFeed, RevokedSessions

log = logging.getLogger(__name__)

FetchJson = Callable[[str], Awaitable[dict[str, Any]]]
BROADCAST_QUEUE = "gateway.auth-broadcast"
# Events up to this size are handled on the event loop (a few ms); larger ones in a thread.
INLINE_EVENT_BYTES = 64 * 1024
# Rules validated per call: one pydantic call holds the GIL, so the event loop
# waits at most this long (≈ 10 ms) for a thread validating a large event.
VALIDATE_CHUNK = 2_000
RULES = TypeAdapter(list[IpRule])


class RuleSync:
    def __init__(self, index: IpRuleIndex, revoked: RevokedSessions, fetch: FetchJson) -> None:
        self.index = index
        self.revoked = revoked
        self.fetch = fetch
        # The revoked sessions' snapshot (the events come on this instance's one queue, below).
        self.revocations = RevocationFeed("gateway", revoked, fetch)
        self.synced = asyncio.Event()
        self.synced_at: float | None = None  # time.monotonic() of the last snapshot loaded

    def rules_age(self) -> float:
        """Seconds since the last snapshot from auth was loaded; infinite before the first."""
        return float("inf") if self.synced_at is None else time.monotonic() - self.synced_at

    def subscription(self) -> Subscription:
        return Subscription(
            BROADCAST_QUEUE, ("auth.ip_rules.changed", "auth.session.revoked"), self.on_event, broadcast=True
        )

    async def on_event(self, delivery: Delivery) -> None:
        if len(delivery.body) <= INLINE_EVENT_BYTES:
            change = self.read(delivery)
        else:
            change = await asyncio.to_thread(self.read, delivery)
        if isinstance(change, SessionRevoked):
            self.revoked.revoke(change.session_id)
        elif change is not None:
            account_id, rules = change
            if self.index.install(account_id, rules):
                log.info("ip rules of %s now at revision %d", account_id, rules.revision)

    def read(self, delivery: Delivery) -> tuple[str, AccountRules] | SessionRevoked | None:
        """The event's effect, parsed, validated once and built (no I/O: may run in a thread).

        None when it changes nothing here (a revision we already hold, another event type).
        """
        envelope = _envelope(delivery)
        try:
            if envelope.type == "auth.session.revoked":
                return SessionRevoked.model_validate(envelope.data)
            if envelope.type != "auth.ip_rules.changed":
                parse_delivery(delivery)  # the common rules: unknown types are poison, others ignored
                return None
            # The rules are validated in chunks (see VALIDATE_CHUNK), the rest of the data at once.
            raw_rules = envelope.data.get("rules")
            change = IpRulesChanged.model_validate({**envelope.data, "rules": []})
            if not isinstance(raw_rules, list):
                raise ValueError("rules: a list is required")
            if change.revision <= self.index.revision(change.account_id):
                return None  # checked again when installing
            rules = [
                rule
                for offset in range(0, len(raw_rules), VALIDATE_CHUNK)
                for rule in RULES.validate_python(raw_rules[offset : offset + VALIDATE_CHUNK])
            ]
            return change.account_id, AccountRules.from_models(rules, change.revision)
        except ValueError as exc:  # pydantic's ValidationError, or an address that does not parse
            raise PoisonMessage(f"{delivery.message_id}: {exc}") from exc

    async def resync(self) -> None:
        """Everything from auth: the rules of every account and the recently revoked sessions."""
        snapshot = await self.fetch("/internal/ip-rules")
        # Built in a thread (10,000 accounts take seconds), installed on the loop.
        built = await asyncio.to_thread(self.index.build_newer, snapshot["accounts"])
        changed = self.index.install_snapshot(built)
        revoked = await self.revocations.resync()
        self.synced_at = time.monotonic()
        self.synced.set()
        log.info("resynchronised with auth: %d accounts changed, %d revoked sessions", changed, revoked)

    async def keep_in_sync(self) -> None:
        await resync_forever(self.resync, what="IP rules and revoked sessions")

    async def on_reconnect(self) -> None:
        await resync_after_reconnect(self.resync, what="IP rules and revoked sessions")


def _envelope(delivery: Delivery) -> Envelope:
    """The envelope, with `parse_delivery`'s poison rules but its data not yet validated:
    `parse_delivery` validates it and throws the result away, and the rules of a large
    account are validated in chunks."""
    try:
        envelope = Envelope.from_json(delivery.body)
    except ValueError as exc:
        raise PoisonMessage(f"{delivery.message_id}: {exc}") from exc
    if delivery.routing_key and delivery.routing_key != envelope.type:
        raise PoisonMessage(f"{delivery.message_id}: type {envelope.type} sent as {delivery.routing_key}")
    return envelope
