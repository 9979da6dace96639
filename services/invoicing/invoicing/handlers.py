"""What invoicing does when billing's events arrive (routing as data)."""

from invoicing.settings import InvoicingSettings
from tollgate_shared.service import Consumers


def event_handlers(settings: InvoicingSettings) -> Consumers:
    """Queue → event type → handler. Documents from billing's events arrive with the invoicing issue."""
    return {}
