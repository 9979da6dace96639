"""Where the machine's CPU went during a phase, read from /proc (Linux).

The machine is shared and noisy, so next to events/s the bench reports CPU
time per event of each side, which the neighbours disturb much less, and how
many cores everything else used meanwhile.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
GROUPS = {"postgres": "postgresql", "beam.smp": "rabbitmq"}


@dataclass(frozen=True)
class Snapshot:
    busy: float
    """Seconds of CPU the whole machine spent busy (all cores)."""
    groups: dict[int, tuple[str, float]]
    """Pid → (group, seconds of CPU) of PostgreSQL's and RabbitMQ's processes."""
    pids: dict[int, float]
    """Seconds of CPU of the bench's own processes."""


def _process_seconds(pid: int) -> tuple[str, float] | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            raw = stat.read()
    except OSError:
        return None
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    return name, (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def snapshot(own_pids: list[int]) -> Snapshot | None:
    try:
        with open("/proc/stat") as stat:
            values = [int(v) for v in stat.readline().split()[1:]]
    except OSError:
        return None
    idle = values[3] + values[4]  # idle + iowait
    groups: dict[int, tuple[str, float]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (found := _process_seconds(int(entry))) is not None:
            name, seconds = found
            if name in GROUPS:
                groups[int(entry)] = (GROUPS[name], seconds)
    pids = {pid: found[1] for pid in own_pids if (found := _process_seconds(pid)) is not None}
    return Snapshot((sum(values) - idle) / TICKS, groups, pids)


def usage(before: Snapshot | None, after: Snapshot | None, labels: dict[int, str], seconds: float) -> dict[str, float]:
    """Cores used on average over `seconds`: each bench process, the servers, everything else."""
    if before is None or after is None or seconds <= 0:
        return {}
    cores: dict[str, float] = {}
    for pid, label in labels.items():
        if pid in before.pids and pid in after.pids:
            cores[label] = (after.pids[pid] - before.pids[pid]) / seconds
    # Processes that started or ended in between (other users' connections) are left out.
    for group in GROUPS.values():
        cores[group] = 0.0
    for pid, (group, spent) in after.groups.items():
        if pid in before.groups:
            cores[group] += (spent - before.groups[pid][1]) / seconds
    total = (after.busy - before.busy) / seconds
    cores["everything_else"] = total - sum(cores.values())
    cores["machine"] = total
    return {k: round(v, 2) for k, v in cores.items()}
