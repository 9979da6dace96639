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


# --- verified tokens remembered -------------------------------------------------------------------


class CountingVerifier:
    """Wraps `verify_access_token` to count the verifications really done."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import tollgate_shared.jwks as module

        self.calls = 0
        real = module.verify_access_token

        def counting(token: str, keys: Any) -> Any:
            self.calls += 1
            return real(token, keys)

        monkeypatch.setattr(module, "verify_access_token", counting)


def short_token(seconds: int, sid: str = "s") -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "u", "sid": sid, "iat": now, "exp": now + seconds}
    return jwt.encode(claims, KEY, algorithm="EdDSA", headers={"kid": "k1"})


async def fetch_jwks() -> dict[str, Any]:
    return jwks()


async def test_a_verified_token_is_remembered_and_not_verified_again(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = JwksCache(fetch_jwks)
    await cache.refresh()
    counter = CountingVerifier(monkeypatch)
    presented = token()
    first = await cache.verify(presented)
    assert await cache.verify(presented) == first and await cache.verify(presented) == first
    assert counter.calls == 1


async def test_a_remembered_token_is_refused_from_its_expiry_on() -> None:
    cache = JwksCache(fetch_jwks)
    presented = short_token(1)
    assert (await cache.verify(presented)).user_id == "u"
    expires_at = jwt.decode(presented, options={"verify_signature": False})["exp"]
    await asyncio.sleep(max(0.0, expires_at - time.time()) + 0.05)
    with pytest.raises(InvalidToken):
        await cache.verify(presented)


async def test_remembered_tokens_are_forgotten_when_the_key_set_changes() -> None:
    served = jwks()

    async def fetch() -> dict[str, Any]:
        return served

    cache = JwksCache(fetch)
    presented = token()
    await cache.verify(presented)
    # Auth replaces key k1 (say it leaked): what it signed must stop verifying at once.
    other = json.loads(OKPAlgorithm.to_jwk(Ed25519PrivateKey.generate().public_key()))
    served = {"keys": [{**other, "kid": "k1", "alg": "EdDSA", "use": "sig"}]}
    await cache.refresh()
    with pytest.raises(InvalidToken):
        await cache.verify(presented)


async def test_a_refresh_that_changes_nothing_keeps_the_remembered_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = JwksCache(fetch_jwks)
    await cache.refresh()
    counter = CountingVerifier(monkeypatch)
    presented = token()
    await cache.verify(presented)
    await cache.refresh()
    await cache.verify(presented)
    assert counter.calls == 1


async def test_the_memory_is_bounded_least_recently_used_first(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = JwksCache(fetch_jwks, verified_tokens=2)
    await cache.refresh()
    counter = CountingVerifier(monkeypatch)
    a, b, c = (short_token(60, sid=sid) for sid in "abc")
    await cache.verify(a)
    await cache.verify(b)
    await cache.verify(a)  # a is now the most recently used
    await cache.verify(c)  # evicts b
    assert counter.calls == 3
    await cache.verify(a)
    assert counter.calls == 3
    await cache.verify(b)
    assert counter.calls == 4


async def test_tokens_that_fail_are_not_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = JwksCache(fetch_jwks)
    await cache.refresh()
    counter = CountingVerifier(monkeypatch)
    forged = jwt.encode(
        jwt.decode(token(), options={"verify_signature": False}),
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
        headers={"kid": "k1"},
    )
    for _ in range(2):
        with pytest.raises(InvalidToken):
            await cache.verify(forged)
    assert counter.calls == 2
