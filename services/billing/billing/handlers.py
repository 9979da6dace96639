"""What billing does when other services' events arrive, as data: queue → event type → reaction.

The reactions are use cases (billing/use_cases/), named after what they do.
"""

from functools import partial

from billing.settings import BillingSettings
from billing.use_cases.decide_offline_payment import apply_finance_decision
from billing.use_cases.open_wallet import open_wallet
from tollgate_shared.service import Consumers

FINANCE_QUEUE = "finance.offline-payments"
DECISIONS_QUEUE = "billing.finance-decisions"
# Queues billing declares for another consumer: the finance approval service reads submissions from this one.
OUTBOUND_QUEUES: dict[str, tuple[str, ...]] = {FINANCE_QUEUE: ("billing.offline_payment.submitted",)}


def event_handlers(settings: BillingSettings) -> Consumers:
    """Queue → event type → handler."""
    return {
        "billing.auth-events": {"auth.account.created": partial(open_wallet, currency=settings.currency)},
        DECISIONS_QUEUE: {"finance.offline_payment.decided": partial(apply_finance_decision, settings=settings)},
    }
