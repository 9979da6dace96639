"""Settings of the billing service."""

from decimal import Decimal
from typing import ClassVar

from pydantic import Field, field_validator

from billing.domain.gst import STATES, state_code
from tollgate_shared.settings import ServiceSettings


class BillingSettings(ServiceSettings):
    service_name: ClassVar[str] = "billing"
    currency: str = "INR"
    # The seller (the platform) on every invoice; its state decides CGST+SGST or IGST.
    seller_state: str = "Karnataka"
    cgst_rate: Decimal = Field(default=Decimal("9"), ge=0, le=50)
    sgst_rate: Decimal = Field(default=Decimal("9"), ge=0, le=50)
    igst_rate: Decimal = Field(default=Decimal("18"), ge=0, le=100)
    max_order_lines: int = Field(default=100, ge=1, le=1000)
    # Decisions from the finance approval service count only when RabbitMQ says
    # this broker user published them (the AMQP user_id property).
    finance_broker_user: str = "finance"

    @field_validator("seller_state")
    @classmethod
    def _known_state(cls, value: str) -> str:
        return STATES[state_code(value)]  # the canonical name; ValueError when unknown
