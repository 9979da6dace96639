"""Auth's public keys, cached: what the gateway and the services verify tokens with.

Fetched once at start, and again when a token names a key we do not know (auth
rotated), at most every `min_refresh_interval` seconds so random key ids cannot
make us hammer auth.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from jwt.algorithms import OKPAlgorithm

from tollgate_shared.access_tokens import InvalidToken, Principal, UnknownKey, decode_access_token

log = logging.getLogger(__name__)

FetchJwks = Callable[[], Awaitable[dict[str, Any]]]


class JwksCache:
    def __init__(self, fetch: FetchJwks, *, min_refresh_interval: float = 5.0) -> None:
        self.fetch = fetch
        self.min_refresh_interval = min_refresh_interval
        self.keys: dict[str, Any] = {}
        self._last_refresh = float("-inf")
        self._lock = asyncio.Lock()

    async def refresh(self) -> None:
        async with self._lock:
            await self._refresh_locked()

    async def _refresh_locked(self) -> None:
        self._last_refresh = time.monotonic()
        document = await self.fetch()
        keys = {}
        for jwk in document.get("keys", []):
            if jwk.get("kty") == "OKP" and jwk.get("alg") == "EdDSA" and "kid" in jwk:
                keys[jwk["kid"]] = OKPAlgorithm.from_jwk(json.dumps(jwk))
        self.keys = keys

    async def verify(self, token: str) -> Principal:
        """The token's principal; `InvalidToken` when it does not verify."""
        try:
            return decode_access_token(token, self.keys)
        except UnknownKey:
            pass
        async with self._lock:
            try:  # another request may have fetched the keys while this one waited
                return decode_access_token(token, self.keys)
            except UnknownKey:
                if time.monotonic() - self._last_refresh < self.min_refresh_interval:
                    raise
            try:
                await self._refresh_locked()
            except Exception as exc:
                log.warning("could not refresh the signing keys: %s", exc)
                raise InvalidToken("unknown signing key") from exc
        return decode_access_token(token, self.keys)
