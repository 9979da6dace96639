"""The faults, injected one after another while the load runs, each with its window (timeline.Window)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from chaos.processes import FINANCE, System
from chaos.timeline import Timeline, Window

Action = Callable[[System], Awaitable[object]]


@dataclass(frozen=True)
class Fault:
    name: str
    description: str
    hold: float  # seconds between the injection and the harness lifting it
    inject: Action
    lift: Action


def _kill(name: str) -> Action:
    async def inject(system: System) -> None:
        system.kill(name)

    return inject


def _stop(name: str) -> Action:
    async def inject(system: System) -> None:
        await system.stop(name)

    return inject


def _start(name: str) -> Action:
    async def lift(system: System) -> None:
        await system.start(name)

    return lift


async def _stop_broker(system: System) -> None:
    await asyncio.to_thread(system.infra.rabbitmq.stop)


async def _start_broker(system: System) -> None:
    await asyncio.to_thread(system.infra.rabbitmq.start)
    await asyncio.to_thread(system.infra.rabbitmq.wait_ready)


async def _stop_postgres(system: System) -> None:
    await asyncio.to_thread(system.infra.postgres.stop, "fast")


async def _start_postgres(system: System) -> None:
    await asyncio.to_thread(system.infra.postgres.start)


async def _cut_billing_database(system: System) -> None:
    await system.infra.billing_link.cut()


async def _restore_billing_database(system: System) -> None:
    await system.infra.billing_link.restore()


def catalogue(database_outage: float = 30.0) -> dict[str, Fault]:
    """Every fault by name, in the order a full run injects them."""
    faults = [
        Fault("billing-kill", "kill -9 of billing-1, restarted after 3 s", 3, _kill("billing-1"), _start("billing-1")),
        Fault("broker-restart", "RabbitMQ node stopped for 10 s, then started", 10, _stop_broker, _start_broker),
        Fault(
            "invoicing-stop", "invoicing stopped (SIGTERM) for 15 s", 15, _stop("invoicing-1"), _start("invoicing-1")
        ),
        Fault("gateway-kill", "kill -9 of the gateway, restarted at once", 0, _kill("gateway-1"), _start("gateway-1")),
        Fault("postgres-restart", "PostgreSQL stopped (fast) and started", 0, _stop_postgres, _start_postgres),
        Fault(
            "billing-db-cut",
            f"billing's database unreachable for {database_outage:.0f} s (its link cut)",
            database_outage,
            _cut_billing_database,
            _restore_billing_database,
        ),
    ]
    return {fault.name: fault for fault in faults}


async def system_ready(system: System, within: float = 90.0) -> bool:
    """Every server process answers /readyz 200 again with its broker connected (each answers for itself)."""
    servers = [p for name, p in system.processes.items() if name != FINANCE]
    try:
        await asyncio.wait_for(asyncio.gather(*(p.wait_ready(within=within) for p in servers)), within + 5)
    except (RuntimeError, TimeoutError):
        return False
    return True


async def inject(system: System, fault: Fault, timeline: Timeline, *, settle: float) -> Window:
    """Inject, hold, lift, wait until ready, then `settle` seconds more: all of it the fault's window."""
    window = Window(fault.name, fault.description, timeline.now())
    timeline.windows.append(window)
    print(f"[{timeline.now():6.1f}s] {fault.name}: {fault.description}", flush=True)
    await fault.inject(system)
    await asyncio.sleep(fault.hold)
    window.lifted = timeline.now()
    await fault.lift(system)
    window.ready = timeline.now() if await system_ready(system) else float("nan")  # nan: not ready in time
    window.ends = timeline.now() + settle
    took = window.ready - window.lifted
    print(f"[{timeline.now():6.1f}s] {fault.name}: lifted; every process ready {took:.1f}s later", flush=True)
    await asyncio.sleep(settle)
    return window


async def run_schedule(
    system: System, faults: list[Fault], timeline: Timeline, *, seconds: float, warm_up: float, settle: float
) -> None:
    """Warm up, then each fault in turn with calm between them, spread to fill about `seconds`; calm at the end."""
    began = timeline.now()
    await asyncio.sleep(warm_up)
    for index, fault in enumerate(faults):
        await inject(system, fault, timeline, settle=settle)
        left = began + seconds - timeline.now()
        remaining = faults[index + 1 :]
        # What the remaining faults need (hold, a restart, settle), the rest spread as calm between them.
        needed = sum(f.hold + 6 + settle for f in remaining)
        await asyncio.sleep(max(5.0, (left - needed) / (len(remaining) + 1)))
