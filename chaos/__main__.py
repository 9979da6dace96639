"""`python -m chaos` (`make chaos`): Tollgate under load and faults; exit 1 when anything was lost or doubled,
stuck, or a client saw an error outside a fault window."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import signal
import sys
from pathlib import Path

from chaos.faults import catalogue
from chaos.run import Config, default_results, env_number, run


def parse(argv: list[str] | None = None) -> Config:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument(
        "--seconds",
        type=float,
        default=env_number("CHAOS_SECONDS", 210),
        help="seconds of load, faults included (CHAOS_SECONDS, default 210)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=int(os.environ.get("CHAOS_SEED") or random.randrange(10**6)),
        help="the clients' choices (CHAOS_SEED; default random, printed)",
    )
    parser.add_argument(
        "--faults",
        default=os.environ.get("CHAOS_FAULTS", ""),
        help=f"comma-separated, in order (CHAOS_FAULTS; default all: {','.join(catalogue())})",
    )
    parser.add_argument(
        "--database-outage",
        type=float,
        default=env_number("CHAOS_DATABASE_OUTAGE", 30),
        help="seconds billing's database stays unreachable (default 30)",
    )
    parser.add_argument("--clients", type=int, default=int(env_number("CHAOS_CLIENTS", 6)))
    parser.add_argument("--sign-up-every", type=float, default=env_number("CHAOS_SIGN_UP_EVERY", 20))
    parser.add_argument(
        "--settle",
        type=float,
        default=env_number("CHAOS_SETTLE", 10),
        help="seconds after a fault is lifted (and all is ready) that still count as its window",
    )
    parser.add_argument("--warm-up", type=float, default=15)
    parser.add_argument(
        "--retry-delays",
        default=os.environ.get("CHAOS_RETRY_DELAYS", "1,2,4"),
        help="the services' retry tiers (default 1,2,4: all spent within any outage, so a consumer that "
        "does not pause parks messages)",
    )
    parser.add_argument(
        "--repeat",
        type=float,
        default=env_number("CHAOS_REPEAT", 0.25),
        help="share of top-ups and payments a client sends twice, as after a lost answer (default 0.25)",
    )
    parser.add_argument("--results", type=Path, default=None, help="folder for logs and result.json")
    args = parser.parse_args(argv)
    known = catalogue(args.database_outage)
    names = [n.strip() for n in args.faults.split(",") if n.strip()] or list(known)
    unknown = [n for n in names if n not in known]
    if unknown:
        parser.error(f"unknown fault(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return Config(
        seconds=args.seconds,
        seed=args.seed,
        faults=[known[n] for n in names],
        clients=args.clients,
        sign_up_every=args.sign_up_every,
        settle=args.settle,
        warm_up=args.warm_up,
        results=args.results or default_results(),
        retry_delays=args.retry_delays,
        repeat=args.repeat,
    )


async def _main(config: Config) -> int:
    task = asyncio.current_task()
    assert task is not None
    # SIGTERM as Ctrl-C: the processes, the broker and the cluster are stopped and deleted on the way out.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    return await run(config)


def main(argv: list[str] | None = None) -> int:
    config = parse(argv)
    # aiormq logs every refused connection while the harness waits for its broker to boot.
    logging.getLogger("aiormq").setLevel(logging.CRITICAL)
    try:
        return asyncio.run(_main(config))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("chaos: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
