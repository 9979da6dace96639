"""Settings of the billing service."""

from typing import ClassVar

from tollgate_shared.settings import ServiceSettings


class BillingSettings(ServiceSettings):
    service_name: ClassVar[str] = "billing"
    currency: str = "INR"
