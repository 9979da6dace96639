"""One argon2 verify, single-threaded: the parameters auth uses against argon2-cffi's defaults."""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

from argon2 import PasswordHasher

PASSWORD = "a bench password that is long enough"


def parameters(hasher: PasswordHasher) -> dict[str, int]:
    return {
        "time_cost": hasher.time_cost,
        "memory_cost_kib": hasher.memory_cost,
        "parallelism": hasher.parallelism,
        "hash_len": hasher.hash_len,
        "salt_len": hasher.salt_len,
    }


def _one(hasher: PasswordHasher, encoded: str) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    hasher.verify(encoded, PASSWORD)
    return time.perf_counter() - wall, time.process_time() - cpu


def _summary(hasher: PasswordHasher, encoded: str, samples: list[tuple[float, float]]) -> dict[str, Any]:
    walls = [wall for wall, _ in samples]
    cpu_median = statistics.median(cpu for _, cpu in samples)
    wall_median = statistics.median(walls)
    cores = os.cpu_count() or 1
    return {
        "parameters": parameters(hasher),
        "encoded_prefix": encoded.rsplit("$", 2)[0],
        "verifies": len(samples),
        "wall_ms_median": round(wall_median * 1000, 2),
        "wall_ms_min": round(min(walls) * 1000, 2),
        "cpu_ms_median": round(cpu_median * 1000, 2),
        "cores_per_verify": round(cpu_median / wall_median, 2),
        # If logins did nothing but this, every core busy: the machine's ceiling.
        "ceiling_verifies_per_second": round(cores / cpu_median, 1) if cpu_median > 0 else None,
    }


def compare(*, repeats: int = 30, budget_seconds: float = 10.0) -> dict[str, Any]:
    """The service's hasher (imported, not copied) against `PasswordHasher()`'s defaults.

    One verify after another on this thread, the two alternating so that the
    machine's noise falls on both alike. CPU time is the process's (every
    thread): argon2 runs `parallelism` lanes in threads of its own, so a verify
    with p=4 costs more CPU than wall time.
    """
    from auth.domain.passwords import HASHER

    hashers = {"chosen": HASHER, "argon2_cffi_defaults": PasswordHasher()}
    encoded = {name: hasher.hash(PASSWORD) for name, hasher in hashers.items()}
    for name, hasher in hashers.items():
        hasher.verify(encoded[name], PASSWORD)  # warm: the first call pays for the allocation
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in hashers}
    deadline = time.monotonic() + budget_seconds
    while len(samples["chosen"]) < repeats and (len(samples["chosen"]) < 3 or time.monotonic() < deadline):
        for name, hasher in hashers.items():
            samples[name].append(_one(hasher, encoded[name]))
    result: dict[str, Any] = {name: _summary(hashers[name], encoded[name], samples[name]) for name in hashers}
    chosen, defaults = result["chosen"], result["argon2_cffi_defaults"]
    result["defaults_over_chosen_cpu"] = round(defaults["cpu_ms_median"] / chosen["cpu_ms_median"], 2)
    result["defaults_over_chosen_wall"] = round(defaults["wall_ms_median"] / chosen["wall_ms_median"], 2)
    return result
