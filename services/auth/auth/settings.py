"""Settings of the auth service."""

from typing import ClassVar

from pydantic import Field, SecretStr

from tollgate_shared.settings import ServiceSettings


class AuthSettings(ServiceSettings):
    service_name: ClassVar[str] = "auth"

    # Earlier values of TOLLGATE_SECRET_KEY, comma-separated: secrets encrypted
    # under them stay readable while they are re-encrypted under the current one.
    old_secret_keys: SecretStr = SecretStr("")
    totp_issuer: str = Field(default="Tollgate", min_length=1, max_length=64)
    refresh_token_days: int = Field(default=30, ge=1, le=365)
    login_failures_before_delay: int = Field(default=5, ge=1, le=100)
    # Browsers get the session in cookies; Secure unless serving plain HTTP on purpose.
    cookie_secure: bool = True

    def secret_fields(self) -> tuple[str, ...]:
        return ("secret_key", "internal_key")
