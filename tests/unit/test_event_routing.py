"""The catalogue says which events no service consumes by design, and says it truly: those go to the
bounded archive, and `ops.unrouted` is left for mistakes (issue 16)."""

from __future__ import annotations

from billing.handlers import OUTBOUND_QUEUES
from billing.handlers import event_handlers as billing_handlers
from billing.settings import BillingSettings
from invoicing.handlers import event_handlers as invoicing_handlers
from invoicing.settings import InvoicingSettings
from tollgate_shared.batch_handler import as_batch_handler
from tollgate_shared.events.catalogue import CATALOGUE


def taken_by_a_work_queue() -> set[str]:
    """Every event type some service's durable queue is bound to."""
    consumers = {
        **billing_handlers(BillingSettings.model_construct()),
        **invoicing_handlers(InvoicingSettings.model_construct()),
    }
    types = {event_type for route in consumers.values() for event_type in as_batch_handler(route).event_types}
    return types | {event_type for keys in OUTBOUND_QUEUES.values() for event_type in keys}


def test_exactly_the_events_no_work_queue_takes_are_archived() -> None:
    archived = {event_type for event_type, spec in CATALOGUE.items() if spec.archived}
    assert archived == set(CATALOGUE) - taken_by_a_work_queue()


def test_an_archived_event_names_no_service_as_its_consumer_unless_it_is_broadcast() -> None:
    for event_type, spec in CATALOGUE.items():
        if spec.archived:
            assert spec.consumers.startswith(("none yet", "every gateway")), event_type
