"""The JWKS cache fetches once for a burst of tokens with a new key, and not for every random kid."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from tollgate_shared.access_tokens import AUDIENCE, ISSUER, InvalidToken
from tollgate_shared.jwks import JwksCache

KEY = Ed25519PrivateKey.generate()


def jwks() -> dict[str, Any]:
    jwk = json.loads(OKPAlgorithm.to_jwk(KEY.public_key()))
    return {"keys": [{**jwk, "kid": "k1", "alg": "EdDSA", "use": "sig"}]}


def token(kid: str = "k1") -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "u", "sid": "s", "iat": now, "exp": now + 60}
    return jwt.encode(claims, KEY, algorithm="EdDSA", headers={"kid": kid})


async def test_a_burst_of_requests_with_an_unknown_key_fetches_once_and_all_pass() -> None:
    fetches = 0

    async def fetch() -> dict[str, Any]:
        nonlocal fetches
        fetches += 1
        await asyncio.sleep(0.05)
        return jwks()

    cache = JwksCache(fetch)
    principals = await asyncio.gather(*(cache.verify(token()) for _ in range(20)))
    assert fetches == 1 and all(p.user_id == "u" for p in principals)


async def test_random_key_ids_do_not_make_it_fetch_again_and_again() -> None:
    fetches = 0

    async def fetch() -> dict[str, Any]:
        nonlocal fetches
        fetches += 1
        return jwks()

    cache = JwksCache(fetch, min_refresh_interval=60)
    await cache.verify(token())
    for n in range(10):
        with pytest.raises(InvalidToken):
            await cache.verify(token(kid=f"random-{n}"))
    assert fetches == 1
