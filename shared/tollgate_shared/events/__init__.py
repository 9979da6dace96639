"""The event contract of DESIGN.md §3: the envelope and a model for every event."""

from tollgate_shared.events.catalogue import CATALOGUE, EventSpec, event_model, event_type_of
from tollgate_shared.events.envelope import Envelope, new_event

__all__ = ["CATALOGUE", "Envelope", "EventSpec", "event_model", "event_type_of", "new_event"]
