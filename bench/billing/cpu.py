"""Where the CPU went during a phase: each process under test, PostgreSQL, RabbitMQ, the load generator."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bench.common import backend_pids, machine_busy_seconds, process_cpu_seconds


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
    # Per database (its name in the figures, e.g. "postgres" for billing's): CPU seconds per backend.
    backends: dict[str, dict[int, float]] = field(default_factory=dict)


def snapshot(processes: Mapping[str, int], backends: Mapping[str, Sequence[int]]) -> Snapshot:
    """The processes by name, and each database's backends (`backends`: its name -> the pids)."""
    return Snapshot(
        at=time.monotonic(),
        machine=machine_busy_seconds(),
        client=time.process_time(),
        processes={name: process_cpu_seconds(pid) or 0.0 for name, pid in processes.items()},
        backends={
            name: {pid: s for pid in pids if (s := process_cpu_seconds(pid)) is not None}
            for name, pids in backends.items()
        },
    )


def usage(before: Snapshot, after: Snapshot) -> dict[str, float]:
    """CPU seconds per process and per database between two snapshots, and the wall seconds; `other`
    is the noise."""
    spent = {name: after.processes[name] - before.processes.get(name, 0.0) for name in after.processes}
    for name, backends in after.backends.items():
        earlier = before.backends.get(name, {})
        # A backend that appeared meanwhile (a pool grew) counts from zero.
        spent[name] = sum(value - earlier.get(pid, 0.0) for pid, value in backends.items())
    spent["client"] = after.client - before.client
    machine = after.machine - before.machine
    spent["other"] = max(machine - sum(spent.values()), 0.0)
    spent["machine"] = machine
    spent["wall"] = after.at - before.at
    return spent


@dataclass
class Meter:
    """The CPU the watched processes and the databases' backends spend from the moment it starts."""

    processes: dict[str, int]
    databases: dict[str, str]  # the name in the figures -> the database's URL
    backends: dict[str, list[int]]
    start: Snapshot

    @classmethod
    async def started(cls, processes: Mapping[str, int], databases: Mapping[str, str]) -> Meter:
        """Started now; open no connection of the bench's own to those databases meanwhile (it would count)."""
        backends = {name: await backend_pids(url) for name, url in databases.items()}
        return cls(dict(processes), dict(databases), backends, snapshot(processes, backends))

    async def spent(self) -> dict[str, float]:
        """CPU seconds per process and database since the start (`usage`); backends that joined meanwhile
        (a pool grew) count too."""
        for name, url in self.databases.items():
            self.backends[name] = sorted({*self.backends[name], *await backend_pids(url)})
        return usage(self.start, snapshot(self.processes, self.backends))
