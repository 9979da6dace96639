"""Settings of the auth service."""

from typing import ClassVar

from tollgate_shared.settings import ServiceSettings


class AuthSettings(ServiceSettings):
    service_name: ClassVar[str] = "auth"
