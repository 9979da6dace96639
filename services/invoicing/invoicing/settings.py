"""Settings of the invoicing service: who the seller is, and how documents are numbered."""

from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from tollgate_shared.gst_states import STATES, state_code
from tollgate_shared.settings import ServiceSettings

# A number is PREFIX/YY-YY/NNNNNN: at most 16 characters (GST Rule 46) leaves 3 for the prefix.
PREFIX_PATTERN = r"^[A-Za-z0-9-]{1,3}$"


class InvoicingSettings(ServiceSettings):
    service_name: ClassVar[str] = "invoicing"
    # The seller printed on every document (the platform's legal entity).
    seller_name: str = "Tollgate Certificates Private Limited"
    seller_address: str = "12 Residency Road, Bengaluru 560025"
    seller_state: str = "Karnataka"
    seller_gstin: str = "29AAACT1234A1ZX"
    # Financial years (April to March) and document dates are in the seller's time zone.
    seller_timezone: str = "Asia/Kolkata"
    invoice_prefix: str = Field(default="TGI", pattern=PREFIX_PATTERN)
    receipt_prefix: str = Field(default="TGR", pattern=PREFIX_PATTERN)

    @field_validator("seller_state")
    @classmethod
    def _known_state(cls, value: str) -> str:
        return STATES[state_code(value)]

    @field_validator("seller_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("is not a known time zone") from None
        return value
