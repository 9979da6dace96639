"""Every stored time is a `UtcDateTime` and every instant in an answer or an event a `Timestamp` (DESIGN §10).

So a time read back from SQLite is aware, and one written out always says its
offset, for tables, routes and events added later too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Any, get_args

import pytest
from pydantic import AwareDatetime, BaseModel, FutureDatetime, NaiveDatetime, PastDatetime, TypeAdapter, ValidationError
from sqlalchemy import DateTime

import auth.adapters.tables
import billing.adapters.tables
import invoicing.adapters.tables
from tests.support.routes import models_in, routes
from tollgate_shared.db import UtcDateTime
from tollgate_shared.events import Envelope
from tollgate_shared.events.catalogue import CATALOGUE

INDIA = timezone(timedelta(hours=5, minutes=30))


def test_every_time_column_reads_back_aware() -> None:
    plain = [
        f"{table.name}.{column.name}"
        for tables in (auth.adapters.tables, billing.adapters.tables, invoicing.adapters.tables)
        for table in tables.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, DateTime) and not isinstance(column.type, UtcDateTime)
    ]
    assert plain == []


TIME_TYPES = (datetime, AwareDatetime, NaiveDatetime, PastDatetime, FutureDatetime)


def mentions_datetime(annotation: Any) -> bool:
    return annotation in TIME_TYPES or any(mentions_datetime(argument) for argument in get_args(annotation))


def instants(models: set[type[BaseModel]]) -> dict[str, Any]:
    """Each datetime field of `models`, as the type pydantic validates it with."""
    return {
        f"{model.__name__}.{name}": Annotated[(field.annotation, *field.metadata)]
        if field.metadata
        else field.annotation
        for model in models
        for name, field in model.model_fields.items()
        if mentions_datetime(field.annotation)
    }


def answer_and_event_models() -> set[type[BaseModel]]:
    answers = {model for route in routes() for model in models_in(route.response_model)}
    events = {model for spec in CATALOGUE.values() for model in models_in(spec.model)}
    return answers | events | {Envelope}


def test_the_walk_finds_the_instants() -> None:
    found = instants(answer_and_event_models())
    assert {"OrderRead.paid_at", "OrderPaid.paid_at", "Envelope.occurred_at", "AuditEntryRead.created_at"} <= set(found)


@pytest.mark.parametrize("where", sorted(instants(answer_and_event_models())))
def test_an_instant_is_written_in_utc_and_a_time_without_offset_is_refused(where: str) -> None:
    adapter = TypeAdapter(instants(answer_and_event_models())[where])
    noon_in_india = datetime(2026, 12, 2, 17, 30, tzinfo=INDIA)

    read = adapter.validate_python(noon_in_india)

    assert read == noon_in_india and read.tzinfo == UTC
    assert adapter.dump_json(read) == b'"2026-12-02T12:00:00Z"'
    with pytest.raises(ValidationError):
        adapter.validate_python(datetime(2026, 12, 2, 12, 0))
