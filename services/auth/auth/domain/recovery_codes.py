"""One-time recovery codes: shown once, stored as keyed hashes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

COUNT = 10


def new_codes() -> list[str]:
    """Ten codes like `k3f9q-2mzxd` (50 random bits each)."""
    codes = []
    for _ in range(COUNT):
        raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()[:10]
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def normalize(code: str) -> str:
    return code.strip().lower().replace("-", "").replace(" ", "")


def looks_like_recovery_code(code: str) -> bool:
    folded = normalize(code)
    return len(folded) == 10 and not folded.isdigit()


def hash_code(code: str, *, key: bytes) -> str:
    return hmac.new(key, normalize(code).encode(), hashlib.sha256).hexdigest()
