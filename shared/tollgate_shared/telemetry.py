"""Telemetry: one `setup_telemetry(service_name)` per process.

Traces follow a request from the gateway to a service, through the outbox and
the bus, into the consumer. They are exported over OTLP/HTTP only when
`OTEL_EXPORTER_OTLP_ENDPOINT` is set; otherwise nothing leaves the process.
Logs are one JSON object a line, carrying the trace and span ids.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON

_configured = False

# Log record attributes that are the record's own machinery, not extra context.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line, with the current trace id when there is one."""

    def __init__(self, service_name: str) -> None:
        super().__init__()
        self.service_name = service_name

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "service": self.service_name,
            "message": record.getMessage(),
        }
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            entry["trace_id"] = format(context.trace_id, "032x")
            entry["span_id"] = format(context.span_id, "016x")
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value if isinstance(value, str | int | float | bool | None) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(service_name: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLogFormatter(service_name))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiormq", "aio_pika"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def setup_telemetry(
    service_name: str, *, log_level: str = "INFO", extra_processor: SpanProcessor | None = None
) -> TracerProvider:
    """Tracing, instrumentation of the bus and the database, and JSON logs, once per process."""
    global _configured
    provider = trace.get_tracer_provider()
    if not _configured:
        _configured = True
        exporting = bool(
            os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        )
        # With nowhere to send spans, record none: trace ids still flow (logs,
        # headers, the bus) but spans cost next to nothing (the bus benchmark
        # measured up to 1.6 ms of CPU per event for spans thrown away).
        recording = exporting or extra_processor is not None
        sampler = ALWAYS_ON if recording else ALWAYS_OFF
        provider = TracerProvider(resource=Resource.create({"service.name": service_name}), sampler=sampler)
        if exporting:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)
        if recording:
            # Spans of each SQL statement and each AMQP publish/consume: only when
            # someone records them. Unsampled, their hooks still ran on every
            # statement and message (≈ 8 % of billing's CPU per order, ≈ 0.15 ms
            # per publish; bench/README.md), and trace context does not need them:
            # the outbox and the inbox carry `traceparent` themselves.
            _instrument_libraries()
        setup_logging(service_name, log_level)
    assert isinstance(provider, TracerProvider)
    if extra_processor is not None:
        provider.add_span_processor(extra_processor)
    return provider


def _instrument_libraries() -> None:
    from opentelemetry.instrumentation.aio_pika import AioPikaInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    AioPikaInstrumentor().instrument()
    # Wraps engine creation, so every engine a service builds later is traced.
    SQLAlchemyInstrumentor().instrument()
    # The aiohttp client is deliberately not instrumented: its trace-config signals
    # and a client span per request were a large share of the gateway's CPU per
    # proxied request (bench/README.md); the proxy injects `traceparent` itself.


def instrument_app(app: Any) -> None:
    """Per-app instrumentation of the FastAPI routes: one server span per request."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    # Not a span for every ASGI receive/send message as well: they say nothing the
    # server span does not, and cost CPU on every request.
    FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz", exclude_spans=["receive", "send"])
