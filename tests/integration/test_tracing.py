"""A trace started by an HTTP request at the gateway continues in the consumer's span."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.trace import SpanKind

from tests.support.events import sign_up, wallets
from tests.support.harness import wait_for
from tests.support.telemetry import SPANS

pytestmark = pytest.mark.integration


async def test_trace_runs_from_the_gateway_through_the_bus_into_the_consumer(start_system: Any) -> None:
    system = await start_system()
    SPANS.clear()

    account_id = await sign_up(system.gateway)
    await wait_for(lambda: wallets(system.database_urls["billing"], account_id))

    async def consumer_span() -> Any:
        return next(
            (
                span
                for span in SPANS.get_finished_spans()
                if span.name == "auth.account.created process"
                and span.attributes.get("tollgate.consumer") == "billing.auth-events"
            ),
            None,
        )

    consumer = await wait_for(consumer_span)
    trace_spans = [s for s in SPANS.get_finished_spans() if s.context.trace_id == consumer.context.trace_id]
    roots = [s for s in trace_spans if s.parent is None]
    assert len(roots) == 1, [s.name for s in roots]
    root = roots[0]
    assert root.kind == SpanKind.SERVER and root.name.startswith("POST")  # the gateway's span
    names = {s.name for s in trace_spans}
    assert "auth.account.created publish" in names  # the outbox relay, in the same trace
    assert any(s.kind == SpanKind.SERVER and s is not root for s in trace_spans)  # auth's own server span
    assert consumer.kind == SpanKind.CONSUMER
