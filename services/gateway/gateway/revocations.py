"""Sessions revoked since their tokens were issued: refused at once, not at expiry."""

from __future__ import annotations

import time


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
