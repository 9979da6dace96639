"""The gateway's benchmarks: IP decisions in memory, and HTTP through the gateway vs straight to auth.

    uv run python -m bench.gateway.run                 # both parts
    uv run python -m bench.gateway.run --part ip       # IP decision time only (no services needed)
    uv run python -m bench.gateway.run --part http     # HTTP only (PostgreSQL, RabbitMQ, wrk, nginx)

Writes bench/results/gateway.json (a part run alone replaces only its own
section of an existing file) and prints the tables as Markdown (also written
to bench/results/gateway.md). See bench/gateway/SECTION.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.gateway import http_compare, infra, ip_decisions

DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
RESULTS = Path(__file__).resolve().parents[1] / "results" / "gateway.json"


def _ints(raw: str) -> list[int]:
    return [int(part.replace("_", "")) for part in raw.split(",") if part.strip()]


def _names(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.gateway.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("all", "ip", "http"), default="all")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--quiet-wait", type=float, default=1800.0, help="wait at most this long for bench.auth/bench.bus to end"
    )
    ip = parser.add_argument_group("part 1: IP decisions")
    ip.add_argument("--sizes", type=_ints, default=[10, 1_000, 100_000], help="rules in the one account")
    ip.add_argument("--accounts", type=int, default=10_000, help="accounts of the many-accounts scenario (0: skip)")
    ip.add_argument("--rules-per-account", type=int, default=10)
    ip.add_argument("--samples", type=int, default=200_000, help="timed decisions per scenario and round")
    ip.add_argument("--ip-rounds", type=int, default=3)
    ip.add_argument(
        "--user-scaling",
        type=_ints,
        default=[0, 1, 10, 100],
        help="users with an own rule next to the largest size's all-users rules (build cost)",
    )
    ip.add_argument("--event-sizes", type=_ints, default=[1_000, 100_000], help="rules in one ip_rules.changed event")
    http = parser.add_argument_group("part 2: HTTP")
    http.add_argument(
        "--database-url",
        default=os.environ.get("TOLLGATE_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="a PostgreSQL server's admin URL; the bench creates and drops its own database there",
    )
    http.add_argument("--amqp-url", default=os.environ.get("TOLLGATE_BENCH_AMQP_URL", DEFAULT_AMQP_URL))
    http.add_argument("--rounds", type=int, default=3, help="interleaved rounds of every target")
    http.add_argument("--seconds", type=float, default=8.0, help="measured seconds per run under load")
    http.add_argument("--latency-seconds", type=float, default=5.0, help="measured seconds per serial run")
    http.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before every run")
    http.add_argument("--connections", type=int, default=64, help="wrk connections under load")
    http.add_argument(
        "--latency-connections", type=int, default=1, help="wrk connections of the latency runs (0: skip)"
    )
    http.add_argument("--endpoints", type=_names, default=list(http_compare.ENDPOINTS), help="me,jwks")
    http.add_argument(
        "--targets",
        type=_names,
        default=[t.name for t in http_compare.TARGETS],
        help="direct,gateway,gateway_no_tracing,gateway_bare,aiohttp_proxy,httpx_proxy,nginx (nginx: Debian's package)",
    )
    http.add_argument("--wrk-cpus", help="pin wrk with taskset -c (e.g. 1); default: not pinned")
    return parser.parse_args(argv)


def lscpu() -> str:
    try:
        return subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10, check=False).stdout
    except OSError:
        return ""


def code_version() -> dict[str, str]:
    """The commit of the code under test, and whether the gateway's files differ from it."""

    def git(*args: str) -> str:
        try:
            answer = subprocess.run(["git", *args], capture_output=True, text=True, timeout=10, check=False)
        except OSError:
            return ""
        return answer.stdout.strip()

    return {
        "head": git("rev-parse", "HEAD"),
        "ip_index_commit": git("log", "-1", "--format=%H %s", "--", "services/gateway/gateway/ip_index.py"),
        "gateway_uncommitted_changes": git("status", "--short", "--", "services/gateway", "shared"),
    }


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    started = time.time()
    previous: dict[str, Any] = {}
    if args.output.exists():
        try:
            previous = json.loads(args.output.read_text())
        except ValueError:
            previous = {}
    result: dict[str, Any] = {
        "benchmark": "gateway",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "uv run python -m bench.gateway.run " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": {**infra.machine(), "lscpu": lscpu(), "load_average_at_start": infra.load_average()},
        "code": code_version(),
        "ip_decisions": previous.get("ip_decisions"),
        "http": previous.get("http"),
    }

    def log(message: str) -> None:
        print(message, flush=True)

    if args.part in ("all", "ip"):
        result["ip_decisions"] = {
            "date": result["date"],
            "code": result["code"],
            **ip_decisions.run(
                sizes=args.sizes,
                accounts=args.accounts,
                per_account=args.rules_per_account,
                samples=args.samples,
                rounds=args.ip_rounds,
                user_scaling=args.user_scaling,
                event_sizes=args.event_sizes,
                log=log,
                quiet_wait_s=args.quiet_wait,
            ),
        }
    if args.part in ("all", "http"):
        options = http_compare.Options(
            database_url=args.database_url,
            amqp_url=args.amqp_url,
            rounds=args.rounds,
            seconds=args.seconds,
            latency_seconds=args.latency_seconds,
            warmup=args.warmup,
            connections=args.connections,
            latency_connections=args.latency_connections,
            endpoints=args.endpoints,
            targets=args.targets,
            wrk_cpus=args.wrk_cpus,
            quiet_wait_s=args.quiet_wait,
            log_dir=args.output.parent,
        )
        result["http"] = {"date": result["date"], "code": result["code"], **asyncio.run(http_compare.run(options, log))}
    result["seconds"] = time.time() - started
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, default=str) + "\n")
    tables = []
    if result["ip_decisions"]:
        tables.append("## IP decisions\n\n" + ip_decisions.markdown(result["ip_decisions"]))
    if result["http"]:
        tables.append("## HTTP\n\n" + http_compare.markdown(result["http"]))
    text = "\n\n".join(tables) + "\n"
    args.output.with_suffix(".md").write_text(text)
    print("\n" + text)
    print(
        json.dumps(
            {"ip_goal": (result["ip_decisions"] or {}).get("goal"), "http_goal": (result["http"] or {}).get("goal")},
            indent=2,
        )
    )
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
