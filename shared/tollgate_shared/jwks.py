"""Auth's public keys, cached: what the gateway and the services verify tokens with.

Fetched once at start, and again when a token names a key we do not know (auth
rotated), at most every `min_refresh_interval` seconds so random key ids cannot
make us hammer auth.

Verified tokens are remembered too (a bounded LRU keyed by the token itself):
a client presents the same token on every request for its whole lifetime, and
verifying it again each time (PyJWT parsing, Ed25519) is costly (docs/decisions.md, Common library). A remembered token
is answered only until its `exp`, and forgotten when the key set changes;
whatever a caller checks beyond the signature (revoked sessions) it still
checks on every request.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from jwt.algorithms import OKPAlgorithm

from tollgate_shared.access_tokens import InvalidToken, Principal, UnknownKey, verify_access_token

log = logging.getLogger(__name__)

FetchJwks = Callable[[], Awaitable[dict[str, Any]]]
VERIFIED_TOKENS = 4096


class JwksCache:
    def __init__(
        self,
        fetch: FetchJwks,
        *,
        min_refresh_interval: float = 5.0,
        verified_tokens: int = VERIFIED_TOKENS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.fetch = fetch
        self.min_refresh_interval = min_refresh_interval
        self.keys: dict[str, Any] = {}
        self._documents: dict[str, str] = {}  # kid → the JWK as fetched, to see when the key set changes
        self._last_refresh = float("-inf")
        self._lock = asyncio.Lock()
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._verified_max = verified_tokens
        self._clock = clock  # wall clock, as `exp` is

    async def refresh(self) -> None:
        async with self._lock:
            await self._refresh_locked()

    async def _refresh_locked(self) -> None:
        self._last_refresh = time.monotonic()
        document = await self.fetch()
        keys, documents = {}, {}
        for jwk in document.get("keys", []):
            if jwk.get("kty") == "OKP" and jwk.get("alg") == "EdDSA" and "kid" in jwk:
                keys[jwk["kid"]] = OKPAlgorithm.from_jwk(json.dumps(jwk))
                documents[jwk["kid"]] = json.dumps(jwk, sort_keys=True)
        if documents != self._documents:
            # A removed or replaced key must not keep vouching for the tokens it signed.
            self._verified.clear()
        self.keys, self._documents = keys, documents

    async def verify(self, token: str) -> Principal:
        """The token's principal; `InvalidToken` when it does not verify."""
        remembered = self._verified.get(token)
        if remembered is not None:
            principal, expires_at = remembered
            if self._clock() < expires_at:  # PyJWT's rule: expired from `exp` on
                self._verified.move_to_end(token)
                return principal
            del self._verified[token]
        try:
            return self._verify_now(token)
        except UnknownKey:
            pass
        async with self._lock:
            try:  # another request may have fetched the keys while this one waited
                return self._verify_now(token)
            except UnknownKey:
                if time.monotonic() - self._last_refresh < self.min_refresh_interval:
                    raise
            try:
                await self._refresh_locked()
            except Exception as exc:
                log.warning("could not refresh the signing keys: %s", exc)
                raise InvalidToken("unknown signing key") from exc
        return self._verify_now(token)

    def _verify_now(self, token: str) -> Principal:
        # No await between verifying with `self.keys` and remembering: a key-set
        # change (which clears the memory) cannot fall in between.
        principal, expires_at = verify_access_token(token, self.keys)
        if self._verified_max > 0:
            self._verified[token] = (principal, expires_at)
            if len(self._verified) > self._verified_max:
                self._verified.popitem(last=False)
        return principal
