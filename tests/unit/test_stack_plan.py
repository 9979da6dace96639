"""`tollgate stack`'s layout and its supervisor's pauses (no processes: a stand-in the test ends)."""

from __future__ import annotations

from typing import Any

import pytest

from tollgate import stack
from tollgate.stack import Child, plan, upstream_settings


def test_the_billing_replicas_take_the_ports_after_auth_and_the_gateway_gets_them_all() -> None:
    layout = plan(8000, 9000, billing_replicas=3)
    assert layout == [
        ("auth", "auth-1", 9000),
        ("billing", "billing-1", 9001),
        ("billing", "billing-2", 9002),
        ("billing", "billing-3", 9003),
        ("invoicing", "invoicing-1", 9004),
        ("gateway", "gateway-1", 8000),
    ]
    assert upstream_settings(layout)["TOLLGATE_BILLING_URL"] == (
        "http://127.0.0.1:9001,http://127.0.0.1:9002,http://127.0.0.1:9003"
    )


def test_the_default_layout_is_two_billing_replicas_on_four_ports() -> None:
    assert [port for service, _, port in plan(8000, 9000) if service != "gateway"] == [9000, 9001, 9002, 9003]


class Ended:
    pid = 42

    def poll(self) -> int:
        return -9


def test_a_process_that_keeps_ending_waits_longer_each_time_and_one_that_ran_a_while_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    child = Child("billing-2", ["true"])
    starts: list[float] = []

    def start(env: Any, now: float = 0.0) -> None:
        child.process = Ended()  # type: ignore[assignment]
        child.restart_at = None
        starts.append(now)

    monkeypatch.setattr(stack, "say", lambda message: None)
    child.process = Ended()  # type: ignore[assignment]
    pauses = []
    now = 0.0
    for _ in range(7):
        child.started_at = now
        child.tend({}, now)  # ends: a pause is scheduled
        assert child.restart_at is not None
        pauses.append(child.restart_at - now)
        now = child.restart_at
        monkeypatch.setattr(child, "start", lambda env, now=now: start(env, now))
        child.tend({}, now)
    assert pauses == [1, 2, 4, 8, 16, 30, 30]
    child.started_at = now - stack.STABLE_SECONDS  # it ran a minute before it ended
    child.tend({}, now)
    assert child.restart_at == now + 1
