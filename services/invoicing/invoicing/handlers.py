"""What invoicing does when billing's events arrive (routing as data)."""

from tollgate_shared.service import Consumers

from invoicing.settings import InvoicingSettings


def event_handlers(settings: InvoicingSettings) -> Consumers:
    """Queue → event type → handler. Documents from billing's events arrive with the invoicing issue."""
    return {}
