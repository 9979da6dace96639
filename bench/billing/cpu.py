"""Where the CPU went during a phase: each process under test, PostgreSQL, RabbitMQ, the load generator."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bench.common import machine_busy_seconds, process_cpu_seconds


def rabbitmq_pid() -> int | None:
    """The broker's Erlang VM (shared with everyone else's runs: its figure is only indicative)."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError), open(f"/proc/{entry}/comm") as comm:
                if comm.read().strip() == "beam.smp":
                    return int(entry)
    return None


@dataclass
class Snapshot:
    at: float
    machine: float
    client: float
    processes: dict[str, float] = field(default_factory=dict)
    postgres: dict[int, float] = field(default_factory=dict)


def snapshot(processes: Mapping[str, int], postgres_pids: Sequence[int]) -> Snapshot:
    return Snapshot(
        at=time.monotonic(),
        machine=machine_busy_seconds(),
        client=time.process_time(),
        processes={name: process_cpu_seconds(pid) or 0.0 for name, pid in processes.items()},
        postgres={pid: s for pid in postgres_pids if (s := process_cpu_seconds(pid)) is not None},
    )


def usage(before: Snapshot, after: Snapshot) -> dict[str, float]:
    """CPU seconds per process between two snapshots, and the wall seconds; `other` is the noise."""
    spent = {name: after.processes[name] - before.processes.get(name, 0.0) for name in after.processes}
    # A backend that appeared meanwhile (a pool grew) counts from zero.
    spent["postgres"] = sum(value - before.postgres.get(pid, 0.0) for pid, value in after.postgres.items())
    spent["client"] = after.client - before.client
    machine = after.machine - before.machine
    spent["other"] = max(machine - sum(spent.values()), 0.0)
    spent["machine"] = machine
    spent["wall"] = after.at - before.at
    return spent
