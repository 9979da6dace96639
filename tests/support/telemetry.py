"""The in-memory span exporter the tests read traces from (installed by tests/conftest.py)."""

from __future__ import annotations

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

SPANS = InMemorySpanExporter()
