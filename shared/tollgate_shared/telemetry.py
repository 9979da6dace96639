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

from fastapi import FastAPI
from opentelemetry import context, propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON
from starlette.types import ASGIApp, Receive, Scope, Send

_configured = False
_recording = False
# The W3C headers the propagators read; a request's other headers are not looked at.
_CONTEXT_HEADERS = frozenset({b"traceparent", b"tracestate", b"baggage"})

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
    global _configured, _recording
    provider = trace.get_tracer_provider()
    if not _configured:
        _configured = True
        exporting = bool(
            os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        )
        # With nowhere to send spans, record none: trace ids still flow (logs,
        # headers, the bus) without paying for spans thrown away (docs/decisions.md, Common library).
        recording = _recording = exporting or extra_processor is not None
        sampler = ALWAYS_ON if recording else ALWAYS_OFF
        provider = TracerProvider(resource=Resource.create({"service.name": service_name}), sampler=sampler)
        if exporting:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)
        if recording:
            # Spans of each SQL statement and each AMQP publish/consume: only when someone
            # records them, as their hooks cost on every statement and message even unsampled
            # (docs/decisions.md, Common library); the outbox and inbox carry `traceparent`.
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
    # The aiohttp client is deliberately not instrumented: it was a large share of the
    # gateway's CPU per proxied request (docs/decisions.md, Common library); the proxy injects `traceparent` itself.


def spans_recorded() -> bool:
    """Whether `setup_telemetry` records spans (an exporter, or a test's processor)."""
    return _recording


class TraceContextMiddleware:
    """An HTTP request's trace context, for when no span is recorded.

    Continues the caller's trace (`traceparent`) or starts one, for the
    request's duration: log lines carry the trace id, the outbox stores it and
    the gateway forwards it, exactly as under the OpenTelemetry server-span
    middleware. What it skips is that middleware's per-request work for a span
    nobody records (every header decoded into attributes, metrics, the route
    name; docs/decisions.md, Common library).
    """

    def __init__(self, app: ASGIApp, tracer: trace.Tracer | None = None) -> None:
        self.app = app
        self.tracer = tracer or trace.get_tracer(__name__)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        carrier = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope["headers"]
            if name in _CONTEXT_HEADERS
        }
        parent = propagate.extract(carrier)
        span = self.tracer.start_span("http request", context=parent, kind=trace.SpanKind.SERVER)
        token = context.attach(trace.set_span_in_context(span, parent))
        try:
            await self.app(scope, receive, send)
        finally:
            context.detach(token)
            span.end()


def traced_asgi(app: ASGIApp) -> ASGIApp:
    """`app` wrapped for tracing: a server span per request when spans are recorded, else the trace context only."""
    if not spans_recorded():
        return TraceContextMiddleware(app)
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    # No spans for every ASGI receive/send message: they say nothing the server
    # span does not, and cost CPU on every request.
    return OpenTelemetryMiddleware(app, excluded_urls="healthz,readyz", exclude_spans=["receive", "send"])


# FastAPI's own OpenTelemetry layer (FastAPI 0.16x) off: with an SDK provider
# installed it made a server span and a span per dependency, endpoint and
# serialization on every request, unsampled or not (docs/decisions.md, Common library).
# `instrument_app` / `traced_asgi` decide the tracing.
FASTAPI_NATIVE_TELEMETRY_OFF: Any = {"tracing": False, "metrics": False, "logs": False}


def instrument_app(app: FastAPI) -> None:
    """Per-app instrumentation of the FastAPI routes: one server span per request.

    When spans are not recorded, only the trace context (`TraceContextMiddleware`).
    """
    if not spans_recorded():
        app.add_middleware(TraceContextMiddleware)
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    # Not a span for every ASGI receive/send message as well: they say nothing the
    # server span does not, and cost CPU on every request.
    FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz", exclude_spans=["receive", "send"])
