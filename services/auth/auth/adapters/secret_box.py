"""Secrets at rest: AES-256-GCM under keys derived from TOLLGATE_SECRET_KEY.

Each ciphertext names its key (`<key id>:<nonce+ciphertext, base64>`), so the
secret key can rotate: new secrets use the current key, old ones stay readable
under `TOLLGATE_OLD_SECRET_KEYS` until re-encrypted.
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class SecretBoxError(Exception):
    """A ciphertext that no configured key opens."""


def _derive(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"tollgate", info=purpose).derive(secret.encode())


class SecretBox:
    def __init__(self, current: str, old: tuple[str, ...] = (), *, purpose: bytes = b"secrets-at-rest/v1") -> None:
        keys = [_derive(secret, purpose) for secret in (current, *old) if secret]
        self._keys = {hashlib.sha256(key).hexdigest()[:8]: key for key in keys}
        self.current_id = hashlib.sha256(keys[0]).hexdigest()[:8]

    def seal(self, plaintext: bytes, *, context: bytes) -> str:
        """Encrypt `plaintext`, bound to `context` (e.g. the user id) so it cannot be moved."""
        nonce = os.urandom(12)
        sealed = AESGCM(self._keys[self.current_id]).encrypt(nonce, plaintext, context)
        return f"{self.current_id}:{base64.b64encode(nonce + sealed).decode()}"

    def open(self, token: str, *, context: bytes) -> bytes:
        key_id, _, payload = token.partition(":")
        key = self._keys.get(key_id)
        if key is None:
            raise SecretBoxError(f"no key {key_id!r}")
        raw = base64.b64decode(payload)
        try:
            return AESGCM(key).decrypt(raw[:12], raw[12:], context)
        except Exception as exc:
            raise SecretBoxError("cannot decrypt") from exc

    def needs_resealing(self, token: str) -> bool:
        return not token.startswith(self.current_id + ":")
