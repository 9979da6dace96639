"""The invoicing service: invoices and receipts from billing's events, and their PDFs."""

from pathlib import Path

from fastapi import FastAPI

from invoicing.adapters.tables import messaging, metadata
from invoicing.api import documents
from invoicing.handlers import event_handlers
from invoicing.settings import InvoicingSettings
from tollgate_shared.auth_upstream import follow_revocations
from tollgate_shared.bus import Bus
from tollgate_shared.bus.inprocess import InProcessBroker
from tollgate_shared.lifecycle import Shutdown
from tollgate_shared.service import ServiceDefinition, create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(
    settings: InvoicingSettings | None = None,
    *,
    broker: InProcessBroker | None = None,
    bus: Bus | None = None,
    instance: str | None = None,
    shutdown: Shutdown | None = None,
) -> FastAPI:
    settings = settings or InvoicingSettings()
    definition = ServiceDefinition(
        name="invoicing",
        metadata=metadata,
        tables=messaging,
        routers=[documents.router],
        consumers=event_handlers(settings),
        api_prefix="/api/invoices",
        description="Invoices and receipts, numbered per financial year, with their PDFs.",
        # A batch holds its sources' locks, and at its end its series' rows, until it commits: a second batch
        # at once (an order's placed and paid often fall in consecutive ones) would mostly wait for the first,
        # and past the batch's lock timeout be undone and applied event by event (docs/decisions.md, Invoicing).
        transactions_at_once=1,
    )
    return create_service_app(
        definition,
        settings,
        broker=broker,
        bus=bus,
        instance=instance,
        on_startup=follow_revocations,
        shutdown=shutdown,
    )
