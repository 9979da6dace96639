"""RFC 6238 computed here, independently of the service (and of pyotp)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct


def hotp(key: bytes, counter: int, digits: int = 6) -> str:
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


def totp(secret_base32: str, at: float, digits: int = 6, step: int = 30) -> str:
    key = base64.b32decode(secret_base32 + "=" * (-len(secret_base32) % 8))
    return hotp(key, int(at // step), digits)
