"""Access tokens: only EdDSA from a known key, for our audience, unexpired, complete."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tollgate_shared.access_tokens import AUDIENCE, ISSUER, InvalidToken, Principal, UnknownKey, verify_access_token

KEY = Ed25519PrivateKey.generate()
KEYS = {"k1": KEY.public_key()}


def decode_access_token(token: str, public_keys: Any) -> Principal:
    return verify_access_token(token, public_keys)[0]


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "u1",
        "acc": "a1",
        "roles": ["admin"],
        "sid": "s1",
        "amr": ["pwd", "otp"],
        "iat": now,
        "exp": now + 900,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def token(payload: dict[str, Any], *, key: Any = KEY, kid: str = "k1", algorithm: str = "EdDSA") -> str:
    return jwt.encode(payload, key, algorithm=algorithm, headers={"kid": kid})


def test_a_good_token_gives_its_principal() -> None:
    principal = decode_access_token(token(claims()), KEYS)
    assert principal.user_id == "u1" and principal.account_id == "a1" and principal.session_id == "s1"
    assert principal.is_admin and principal.used_totp and not principal.is_staff


def test_alg_none_is_refused() -> None:
    unsigned = jwt.encode(claims(), None, algorithm="none", headers={"kid": "k1"})
    with pytest.raises(InvalidToken):
        decode_access_token(unsigned, KEYS)


def test_hmac_signed_with_the_public_key_is_refused() -> None:
    forged = jwt.encode(claims(), "k1-public-key-bytes-used-as-a-secret", algorithm="HS256", headers={"kid": "k1"})
    with pytest.raises(InvalidToken):
        decode_access_token(forged, KEYS)


def test_another_keys_signature_is_refused() -> None:
    with pytest.raises(InvalidToken):
        decode_access_token(token(claims(), key=Ed25519PrivateKey.generate()), KEYS)


def test_an_unknown_kid_asks_for_a_key_refresh() -> None:
    with pytest.raises(UnknownKey) as raised:
        decode_access_token(token(claims(), kid="k2"), KEYS)
    assert raised.value.kid == "k2"


@pytest.mark.parametrize(
    "bad",
    [
        {"exp": int(time.time()) - 1},
        {"aud": "someone-else"},
        {"iss": "someone-else"},
        {"sid": None},
        {"sub": None},
    ],
)
def test_expired_foreign_or_incomplete_tokens_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(InvalidToken):
        decode_access_token(token(claims(**bad)), KEYS)


def test_garbage_is_refused() -> None:
    with pytest.raises(InvalidToken):
        decode_access_token("not.a.token", KEYS)
