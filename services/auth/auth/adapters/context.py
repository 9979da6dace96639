"""What auth's use cases are given beyond a database session: keys, the secret box, settings."""

from __future__ import annotations

from dataclasses import dataclass

from auth.adapters.secret_box import SecretBox
from auth.adapters.signing_keys import SigningKeys
from auth.settings import AuthSettings


@dataclass
class AuthContext:
    settings: AuthSettings
    box: SecretBox
    keys: SigningKeys

    @property
    def recovery_code_key(self) -> bytes:
        return self.settings.secret_key.get_secret_value().encode()


def build_context(settings: AuthSettings) -> AuthContext:
    old = tuple(part.strip() for part in settings.old_secret_keys.get_secret_value().split(",") if part.strip())
    box = SecretBox(settings.secret_key.get_secret_value(), old)
    return AuthContext(settings=settings, box=box, keys=SigningKeys(box))
