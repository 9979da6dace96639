"""JSON log lines carry the trace id of the span they were written in."""

from __future__ import annotations

import json
import logging

from opentelemetry import trace

from tollgate_shared.telemetry import JsonLogFormatter


def _record(message: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("tollgate.test", logging.WARNING, __file__, 1, message, (), None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_log_line_is_json_with_the_current_trace_id() -> None:
    tracer = trace.get_tracer(__name__)
    with tracer.start_as_current_span("work") as span:
        line = JsonLogFormatter("billing").format(_record("credited %s", account_id="a-1"))
        expected_trace = format(span.get_span_context().trace_id, "032x")
    entry = json.loads(line)
    assert entry["trace_id"] == expected_trace
    assert entry["service"] == "billing" and entry["level"] == "warning"
    assert entry["account_id"] == "a-1"


def test_log_line_outside_a_span_has_no_trace_id() -> None:
    entry = json.loads(JsonLogFormatter("auth").format(_record("hello")))
    assert entry["message"] == "hello" and "trace_id" not in entry


def test_without_an_exporter_spans_are_not_recorded_but_trace_ids_flow(monkeypatch: object) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    provider = TracerProvider(sampler=ALWAYS_OFF)  # what setup_telemetry builds with no endpoint
    with provider.get_tracer(__name__).start_as_current_span("work") as span:
        context = span.get_span_context()
        carrier: dict[str, str] = {}
        from opentelemetry import propagate

        propagate.inject(carrier)
    assert not span.is_recording() and context.is_valid
    assert carrier["traceparent"].split("-")[1] == format(context.trace_id, "032x")
