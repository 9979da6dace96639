"""The envelope every event travels in; its id is also the AMQP message_id."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tollgate_shared.events.catalogue import event_model, event_type_of
from tollgate_shared.fields import Timestamp


class Envelope(BaseModel):
    """`{id, type, version, occurred_at, source, account_id, data}`."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="UUID of the event; consumers deduplicate on it")
    type: str = Field(description="the event type, also the routing key")
    version: int = Field(default=1, ge=1)
    occurred_at: Timestamp
    source: str = Field(description="the producing service")
    account_id: str | None = Field(default=None, description="the account it concerns")
    data: dict[str, Any] = Field(default_factory=dict)

    def parsed_data(self) -> BaseModel:
        """`data` validated against the catalogue's model for this type."""
        return event_model(self.type).model_validate(self.data)

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> Envelope:
        return cls.model_validate_json(raw)


def new_event(data: BaseModel, *, source: str, account_id: str | None = None) -> Envelope:
    """A new envelope for `data`, one of the catalogue's models: its type is the one the catalogue gives it."""
    return Envelope(
        id=str(uuid.uuid4()),
        type=event_type_of(data),
        occurred_at=datetime.now(UTC),
        source=source,
        account_id=account_id,
        data=data.model_dump(mode="json"),
    )
