"""Without recorded spans, a request still continues its caller's trace (or starts one)."""

from __future__ import annotations

from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

from tollgate_shared.telemetry import TraceContextMiddleware

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{CALLER_TRACE}-00f067aa0ba902b7-00"


async def call(headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    """Run one request through the middleware; what the app saw as its trace context."""
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        span = trace.get_current_span()
        carrier: dict[str, str] = {}
        propagate.inject(carrier)  # what the outbox stores and the gateway forwards
        seen.update(context=span.get_span_context(), recording=span.is_recording(), carrier=carrier)

    tracer = TracerProvider(sampler=ALWAYS_OFF).get_tracer(__name__)  # as setup_telemetry without an exporter
    scope = {"type": "http", "method": "GET", "path": "/x", "headers": headers}
    await TraceContextMiddleware(app, tracer)(scope, None, None)
    seen["after"] = trace.get_current_span().get_span_context()
    return seen


async def test_the_callers_trace_continues_in_a_new_span_of_it() -> None:
    seen = await call([(b"host", b"x"), (b"traceparent", TRACEPARENT.encode())])
    assert format(seen["context"].trace_id, "032x") == CALLER_TRACE
    assert format(seen["context"].span_id, "016x") != "00f067aa0ba902b7"  # the request's own span id
    assert not seen["recording"]
    assert seen["carrier"]["traceparent"].split("-")[1] == CALLER_TRACE
    assert not seen["after"].is_valid  # detached when the request ended


async def test_a_request_without_a_caller_starts_a_trace() -> None:
    seen = await call([(b"host", b"x"), (b"traceparent", b"garbage")])
    assert seen["context"].is_valid and format(seen["context"].trace_id, "032x") != CALLER_TRACE
    assert seen["carrier"]["traceparent"].split("-")[1] == format(seen["context"].trace_id, "032x")


async def test_the_relay_forwards_the_writers_trace_context_when_no_span_is_recorded(monkeypatch: Any) -> None:
    """No producer span is made for nobody: the message carries the traceparent the outbox stored."""
    from types import SimpleNamespace

    from tollgate_shared import outbox_relay as outbox
    from tollgate_shared.bus import OutgoingMessage
    from tollgate_shared.outbox_relay import OutboxRelay

    # As in production without an exporter (the test session records spans).
    monkeypatch.setattr(outbox, "spans_recorded", lambda: False)
    published: list[OutgoingMessage] = []

    class Bus:
        async def publish(self, message: OutgoingMessage) -> None:
            published.append(message)

    relay = OutboxRelay(None, None, Bus())  # type: ignore[arg-type]  # only publishing is exercised
    row = SimpleNamespace(event_id="e1", event_type="billing.order.paid", payload="{}", traceparent=TRACEPARENT)
    await relay._publish(row)  # type: ignore[arg-type]
    await relay._publish(
        SimpleNamespace(event_id="e2", event_type="billing.order.paid", payload="{}", traceparent=None)
    )  # type: ignore[arg-type]
    assert [dict(m.headers) for m in published] == [{"traceparent": TRACEPARENT}, {}]
    assert [m.message_id for m in published] == ["e1", "e2"]
