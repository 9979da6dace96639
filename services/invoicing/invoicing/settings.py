"""Settings of the invoicing service."""

from typing import ClassVar

from tollgate_shared.settings import ServiceSettings


class InvoicingSettings(ServiceSettings):
    service_name: ClassVar[str] = "invoicing"
