"""One chaos run from start to verdict: infrastructure, processes, load with faults, drain, checks, report."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.common import ROOT, load_average
from chaos.checks import run_checks
from chaos.drain import drain
from chaos.faults import Fault, run_schedule
from chaos.http import Http, new_session
from chaos.infrastructure import broker_ready, start_infrastructure
from chaos.load import Load
from chaos.processes import System
from chaos.report import render, save, verdict, window_rows
from chaos.timeline import Timeline


@dataclass(frozen=True)
class Config:
    seconds: float  # the load, faults included
    seed: int
    faults: list[Fault]
    clients: int  # customers at the start; one more signs up every `sign_up_every` seconds
    sign_up_every: float
    settle: float  # after a fault is lifted and the system is ready again, still the fault's window
    warm_up: float
    results: Path  # the JSON and every process's log go here
    retry_delays: str  # the services' TOLLGATE_BUS_RETRY_DELAYS
    repeat: float  # share of top-ups and payments sent twice on purpose


def commit() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    return git("rev-parse", "--short", "HEAD") + (" (with uncommitted changes)" if git("status", "--porcelain") else "")


async def run(config: Config) -> int:
    started = time.monotonic()
    config.results.mkdir(parents=True, exist_ok=True)
    print(
        f"chaos: seed {config.seed}, {config.seconds:.0f} s of load, faults: "
        f"{', '.join(f.name for f in config.faults) or 'none'}; logs in {config.results}",
        flush=True,
    )
    infra = await start_infrastructure()
    system = System(infra, config.results, config.retry_delays)
    try:
        system.plan()
        # The migrations need only PostgreSQL: they run while the broker boots.
        await asyncio.gather(system.migrate(), broker_ready(infra))
        await system.start_all()
        print(
            f"chaos: PostgreSQL, RabbitMQ and {len(system.processes)} processes ready in "
            f"{time.monotonic() - started:.0f} s; gateway {system.gateway}",
            flush=True,
        )
        timeline = Timeline()
        async with new_session() as session:
            http = Http(session, system.gateway, timeline, random.Random(config.seed))
            load = Load(http, config.seed, config.repeat)
            stop = asyncio.Event()
            driving = asyncio.create_task(load.run(stop, clients=config.clients, sign_up_every=config.sign_up_every))
            try:
                await run_schedule(
                    system,
                    config.faults,
                    timeline,
                    seconds=config.seconds,
                    warm_up=config.warm_up,
                    settle=config.settle,
                )
            finally:
                stop.set()
                # What is in flight finishes, retrying for at most a minute more.
                load.http.give_up_at = timeline.now() + 60
                await driving
            print(f"[{timeline.now():6.1f}s] load stopped; waiting for the system to drain", flush=True)
            drained = await drain(system, within=90)
            await load.settle()
            checks = await run_checks(system, load, timeline)
        rows = window_rows(timeline)
        line = verdict(checks, timeline)
        notes = [
            f"seed {config.seed}; commit {commit()}; {len(load.customers)} accounts signed up; "
            f"drained {drained:.0f} s after the load; run {time.monotonic() - started:.0f} s; "
            f"load average {load_average()}",
        ]
        print(render(rows, checks, line, notes), flush=True)
        meta = {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "commit": commit(),
            "seed": config.seed,
            "seconds": config.seconds,
            "accounts": len(load.customers),
            "run_seconds": round(time.monotonic() - started),
        }
        save(config.results / "result.json", rows, checks, line, meta)
        return 0 if all(check.passed for check in checks) else 1
    finally:
        await system.stop_all()
        await infra.destroy()


def default_results() -> Path:
    return ROOT / "chaos" / "results" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def env_number(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)
