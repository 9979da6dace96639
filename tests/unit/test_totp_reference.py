"""The tests' own TOTP is pinned by RFC 6238's test vectors (Appendix B, SHA-1)."""

from __future__ import annotations

import base64

import pytest

from tests.support.totp_reference import totp

SEED = base64.b32encode(b"12345678901234567890").decode()


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),
    ],
)
def test_reference_totp_matches_rfc_6238_vectors(at: int, expected: str) -> None:
    assert totp(SEED, at, digits=8) == expected


def test_service_totp_agrees_with_the_reference() -> None:
    from auth.domain import totp as service_totp

    secret = service_totp.new_secret()
    assert len(base64.b32decode(secret)) == 20  # 160 bits
    now = 1_700_000_000.0
    assert service_totp.matching_step(secret, totp(secret, now), now=now, last_step=None) == int(now // 30)
    assert service_totp.matching_step(secret, totp(secret, now), now=now, last_step=int(now // 30)) is None  # replay
    assert service_totp.matching_step(secret, totp(secret, now + 30), now=now, last_step=None) == int(now // 30) + 1
    assert service_totp.matching_step(secret, totp(secret, now - 30), now=now, last_step=None) == int(now // 30) - 1
    assert service_totp.matching_step(secret, totp(secret, now + 60), now=now, last_step=None) is None
