"""Settings of the billing service."""

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from tollgate_shared.gst_states import STATES, state_code
from tollgate_shared.money import MAX_AMOUNT, to_minor
from tollgate_shared.settings import ServiceSettings, SettingsError

if TYPE_CHECKING:
    from billing.domain.payments import OnlineLimits


class BillingSettings(ServiceSettings):
    service_name: ClassVar[str] = "billing"
    currency: str = "INR"
    # The seller (the platform) on every invoice; its state decides CGST+SGST or IGST.
    seller_state: str = "Karnataka"
    cgst_rate: Decimal = Field(default=Decimal("9"), ge=0, le=50)
    sgst_rate: Decimal = Field(default=Decimal("9"), ge=0, le=50)
    igst_rate: Decimal = Field(default=Decimal("18"), ge=0, le=100)
    max_order_lines: int = Field(default=100, ge=1, le=1000)
    # One account's orders a process lets into the database at once (billing/adapters/account_gate.py).
    orders_per_account_at_once: int = Field(default=2, ge=1, le=100)
    # Decisions from the finance approval service count only when RabbitMQ says
    # this broker user published them (the AMQP user_id property).
    finance_broker_user: str = "finance"

    # Online payments. Unset provider: Stripe when a Stripe key is configured, else the sandbox.
    payment_provider: Literal["stripe", "sandbox"] | None = None
    online_payment_min: Decimal = Field(default=Decimal("100.00"), gt=0)
    online_payment_max: Decimal = Field(default=Decimal("1000000.00"), gt=0)
    # Where the provider sends the payer back (Stripe needs absolute URLs): the gateway's public address.
    public_url: str = "http://127.0.0.1:8000"
    stripe_secret_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    # The Stripe API's address; tests point it at a local stand-in.
    stripe_api_base: str = "https://api.stripe.com"
    stripe_webhook_tolerance: int = Field(default=300, ge=1, le=3600)

    # The platform's bank account that offline top-ups are paid into, shown on Add Credits > Offline
    # (`GET /api/billing/offline-payments/instructions`); unset, the page asks to contact support for it.
    bank_account_name: str | None = Field(default=None, max_length=200)
    bank_account_number: str | None = Field(default=None, max_length=40)
    bank_ifsc: str | None = Field(default=None, pattern=r"^[A-Z]{4}0[A-Z0-9]{6}$")
    bank_name: str | None = Field(default=None, max_length=200)

    @field_validator("seller_state")
    @classmethod
    def _known_state(cls, value: str) -> str:
        return STATES[state_code(value)]  # the canonical name; ValueError when unknown

    @field_validator("online_payment_min", "online_payment_max")
    @classmethod
    def _an_amount(cls, value: Decimal) -> Decimal:
        # An amount a payment could be: whole paise, within the money range.
        problem = f"must be an amount with at most two decimal places, at most {MAX_AMOUNT}"
        try:
            whole_paise = value == value.quantize(Decimal("0.01"))
        except InvalidOperation as exc:  # too many digits to have paise at all (1e30)
            raise ValueError(problem) from exc
        if not whole_paise or value > MAX_AMOUNT:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _payment_limits(self) -> "BillingSettings":
        if self.online_payment_min > self.online_payment_max:
            raise SettingsError("TOLLGATE_ONLINE_PAYMENT_MIN is above TOLLGATE_ONLINE_PAYMENT_MAX")
        return self

    @property
    def online_limits(self) -> "OnlineLimits":
        # Imported here: the domain brings the error types and FastAPI with them, a second
        # every command would otherwise spend before it could say what is wrong with its settings.
        from billing.domain.payments import OnlineLimits

        return OnlineLimits(to_minor(self.online_payment_min), to_minor(self.online_payment_max))

    def payment_provider_problem(self) -> str | None:
        """Why billing must not start with these payment settings (checked at start-up, not by every command)."""
        if self.effective_payment_provider == "stripe":
            keys = (self.stripe_secret_key, self.stripe_webhook_secret)
            if any(key is None or not key.get_secret_value().strip() for key in keys):
                return "Stripe needs TOLLGATE_STRIPE_SECRET_KEY and TOLLGATE_STRIPE_WEBHOOK_SECRET"
        elif self.env == "production" and self.payment_provider is None:
            # Production takes money for real: the sandbox only when someone asked for it (DESIGN §9).
            return (
                "no Stripe key is configured: set TOLLGATE_STRIPE_SECRET_KEY and TOLLGATE_STRIPE_WEBHOOK_SECRET, "
                "or TOLLGATE_PAYMENT_PROVIDER=sandbox explicitly"
            )
        return None

    @property
    def effective_payment_provider(self) -> Literal["stripe", "sandbox"]:
        if self.payment_provider is not None:
            return self.payment_provider
        return "stripe" if self.stripe_secret_key is not None else "sandbox"
