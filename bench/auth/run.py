"""Logins per second of the auth service, password-only and password + TOTP, with p50/p95/p99.

    uv run python -m bench.auth.run [--seconds 10] [--concurrency 8] [--rounds 3]

A throwaway PostgreSQL database (migrated with alembic), the service as its own
process (`tollgate serve auth`, production settings, RabbitMQ for its outbox),
users prepared through the API (TOTP ones enrolled), then rounds of fixed-time
load from N concurrent clients on loopback, the two scenarios interleaved. Also
one argon2 verify with the service's parameters against argon2-cffi's defaults,
and the login's user lookup on a large user table. Writes bench/results/auth.json.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import secrets
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.auth import hashing, infra, lookup, scenarios
from bench.auth.client import SignedClient
from bench.common import server_version

DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
RESULTS = Path(__file__).resolve().parents[1] / "results" / "auth.json"
RELAY_FAILED = "outbox relay failed"
MEDIAN_FIELDS = (
    "logins_per_second",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "service_cpu_ms_per_login",
    "database_cpu_ms_per_login",
    "client_cpu_ms_per_login",
    "other_cores",
    "side_probe_me_p50_ms",
)


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.auth.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per scenario and round")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent clients")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of both scenarios, interleaved")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured password logins first (seconds)")
    parser.add_argument("--password-users", type=int, default=50)
    parser.add_argument(
        "--totp-users", type=int, default=400, help="enrolled users; each logs in at most once per 30 s step"
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("TOLLGATE_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="a PostgreSQL server's admin URL; the bench creates and drops its own database there",
    )
    parser.add_argument("--amqp-url", default=os.environ.get("TOLLGATE_BENCH_AMQP_URL", DEFAULT_AMQP_URL))
    parser.add_argument("--hash-repeats", type=int, default=30, help="argon2 verifies per parameter set")
    parser.add_argument(
        "--filler-users", type=int, default=100_000, help="users added for the lookup probe at the end (0: skip)"
    )
    parser.add_argument(
        "--filler-users-before",
        type=int,
        default=0,
        help="users added before the rounds, to measure logins against a large user table",
    )
    parser.add_argument("--skip-hashing", action="store_true", help="no argon2 micro-benchmark")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.concurrency < 1 or args.rounds < 1:
        parser.error("--seconds, --concurrency and --rounds must be positive")
    if args.password_users < 1 or args.totp_users < args.concurrency:
        parser.error("need at least one password user and as many TOTP users as clients")
    return args


def time_budget(args: argparse.Namespace) -> float:
    """Everything but the clean-up must finish within this (seconds)."""
    preparing = 120 + 0.5 * (args.password_users + 2 * args.totp_users) + args.filler_users_before / 5_000
    per_round = 2 * args.seconds + scenarios.STEP_SECONDS + 60
    return float(60 + preparing + args.warmup + args.rounds * per_round + 60 + args.filler_users / 5_000 + 60)


async def measure(
    scenario: str,
    client: SignedClient,
    population: scenarios.Population,
    pool: collections.deque[scenarios.BenchUser],
    service: infra.ServerProcess,
    database_url: str,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """One scenario for `--seconds`, with where the CPU went and the load average around it."""
    pids = await infra.backend_pids(database_url)
    relay_failures = service.log_count(RELAY_FAILED)
    sampler = infra.BackendSampler(database_url, interval=0.5)
    sampler.start()
    side = scenarios.SideProbe(client, population.probe_token)
    side.start()
    load_before = infra.load_average()
    before = infra.cpu_snapshot(service.pid, pids)
    if scenario == "password":
        outcome = await scenarios.password_logins(
            client, population.password_users, seconds=args.seconds, concurrency=args.concurrency
        )
    else:
        outcome = await scenarios.totp_logins(client, pool, seconds=args.seconds, concurrency=args.concurrency)
    after = infra.cpu_snapshot(service.pid, sorted({*pids, *await infra.backend_pids(database_url)}))
    connections = await sampler.stop()
    side_probe = await side.stop()
    result = outcome.summary()
    usage = infra.cpu_usage(before, after)
    logins = max(result["logins"], 1)
    result.update(
        {
            "service_cpu_ms_per_login": round(usage["service_cpu_seconds"] * 1000 / logins, 2),
            "database_cpu_ms_per_login": round(usage["database_cpu_seconds"] * 1000 / logins, 2),
            "client_cpu_ms_per_login": round(usage["client_cpu_seconds"] * 1000 / logins, 2),
            **{name: round(value, 2) for name, value in usage.items() if name.endswith("_cores")},
            "load_average_before": load_before,
            "load_average_after": infra.load_average(),
            "database_connections": connections,
            "side_probe_me": side_probe,
            "side_probe_me_p50_ms": side_probe["p50_ms"],
            "outbox_after": await infra.outbox_state(database_url),
            # The relay could not publish meanwhile (e.g. the broker's topology was changed under it):
            # the figures then lack the publishing work.
            "relay_failures": service.log_count(RELAY_FAILED) - relay_failures,
        }
    )
    return result


def medians(rounds: list[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for scenario in rounds[0]:
        values = {
            name: statistics.median(r[scenario][name] for r in rounds if r[scenario].get(name) is not None)
            for name in MEDIAN_FIELDS
            if any(r[scenario].get(name) is not None for r in rounds)
        }
        found[scenario] = {name: round(value, 2) for name, value in values.items()}
        found[scenario]["errors"] = sum(r[scenario]["errors"] for r in rounds)
        found[scenario]["relay_failures"] = sum(r[scenario]["relay_failures"] for r in rounds)
    return found


async def run(args: argparse.Namespace, report: dict[str, Any]) -> None:
    report["postgresql"] = await server_version(args.database_url)
    if not args.skip_hashing:
        print(f"argon2: one verify, single-threaded, {args.hash_repeats} each (interleaved) …", flush=True)
        report["argon2_verify"] = await asyncio.to_thread(hashing.compare, repeats=args.hash_repeats)
        print_hashing(report["argon2_verify"])

    name = infra.new_database_name()
    report["database"] = name
    database_url = await infra.create_database(args.database_url, name)
    internal_key = secrets.token_urlsafe(32)
    service = infra.auth_service(
        database_url=database_url,
        amqp_url=args.amqp_url,
        internal_key=internal_key,
        secret_key=secrets.token_urlsafe(32),
        log_path=args.output.parent / "auth-service.log",
    )
    report["_cleanup"] = (service, name)  # for the caller's finally, removed before writing
    service.start()
    began = time.perf_counter()
    await service.wait_ready()
    report["service_ready_seconds"] = round(time.perf_counter() - began, 2)
    print(f"auth service ready on {service.url} (pid {service.pid}), database {name}", flush=True)

    async with SignedClient(service.url, internal_key, connections=args.concurrency + 4) as client:
        print(f"preparing {args.password_users} password users and {args.totp_users} TOTP users …", flush=True)
        run_id = uuid.uuid4().hex[:8]
        population = await scenarios.prepare(
            client,
            run_id=run_id,
            password_users=args.password_users,
            totp_users=args.totp_users,
            concurrency=args.concurrency,
        )
        report["preparation_seconds"] = {k: round(v, 1) for k, v in population.seconds.items()}
        report["stored_hash_parameters"] = (await lookup.any_password_hash(database_url)).rsplit("$", 2)[0]
        if args.filler_users_before:
            print(f"adding {args.filler_users_before} filler users before the rounds …", flush=True)
            await lookup.add_filler_users(
                database_url,
                account_id=population.account_ids[0],
                count=args.filler_users_before,
                password_hash=await lookup.any_password_hash(database_url),
            )
        if args.warmup > 0:
            await scenarios.password_logins(
                client, population.password_users, seconds=args.warmup, concurrency=args.concurrency
            )
        idle = scenarios.SideProbe(client, population.probe_token)
        idle.start()
        await asyncio.sleep(3)
        report["side_probe_me_without_load"] = await idle.stop()
        pool = collections.deque(population.totp_users)
        rounds: list[dict[str, dict[str, Any]]] = []
        for number in range(1, args.rounds + 1):
            # Each round starts its TOTP logins at a fresh 30 s step, when every user may log in again.
            waited = await scenarios.until_every_user_may_log_in(pool)
            this_round: dict[str, dict[str, Any]] = {}
            for scenario in ("password+totp", "password"):
                this_round[scenario] = await measure(scenario, client, population, pool, service, database_url, args)
                print_scenario(number, this_round[scenario])
            this_round["password+totp"]["waited_for_step_seconds"] = round(waited, 1)
            rounds.append(this_round)
        report["rounds"] = rounds
        report["medians"] = medians(rounds)

        if args.filler_users:
            print(f"lookup probe: adding {args.filler_users} filler users …", flush=True)
            await lookup.add_filler_users(
                database_url,
                account_id=population.account_ids[0],
                count=args.filler_users,
                password_hash=await lookup.any_password_hash(database_url),
            )
            report["user_lookup"] = await lookup.probe(database_url, email=population.password_users[0].email)
            print_lookup(report["user_lookup"])


def print_hashing(found: dict[str, Any]) -> None:
    for name in ("chosen", "argon2_cffi_defaults"):
        one = found[name]
        print(
            f"  {name:22} {one['encoded_prefix']:34} wall {one['wall_ms_median']:7.1f} ms  "
            f"CPU {one['cpu_ms_median']:7.1f} ms  ceiling {one['ceiling_verifies_per_second']} verifies/s",
            flush=True,
        )


def print_scenario(number: int, found: dict[str, Any]) -> None:
    print(
        f"  round {number} {found['scenario']:14} {found['logins_per_second']:7.1f} logins/s  "
        f"p50 {found['p50_ms']} ms  p95 {found['p95_ms']} ms  p99 {found['p99_ms']} ms  "
        f"service CPU {found['service_cpu_ms_per_login']} ms/login  /me p50 {found['side_probe_me_p50_ms']} ms  "
        f"other load {found['other_cores']} cores  "
        f"errors {found['errors']}"
        + (f"  starved {found['starved']}" if found.get("starved") else "")
        + (f"  RELAY FAILURES {found['relay_failures']}" if found["relay_failures"] else ""),
        flush=True,
    )


def print_lookup(found: dict[str, Any]) -> None:
    print(
        f"  {found['users_in_table']} users: lower(email) = $1 → {found['service_lower_email']['plan']} "
        f"{found['service_lower_email']['execution_ms_median']} ms; email = $1 → {found['email_equals']['plan']} "
        f"{found['email_equals']['execution_ms_median']} ms",
        flush=True,
    )


async def main_async(args: argparse.Namespace) -> int:
    report: dict[str, Any] = {
        "benchmark": "auth",
        "command": "uv run python -m bench.auth.run " + " ".join(sys.argv[1:]),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": infra.machine(),
        "load_average_at_start": infra.load_average(),
        "settings": {
            key: (str(value) if isinstance(value, Path) else value)
            for key, value in vars(args).items()
            if key not in {"database_url", "amqp_url"}
        },
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    failed: BaseException | None = None
    try:
        async with asyncio.timeout(time_budget(args)):
            await run(args, report)
    except BaseException as exc:  # report, clean up, then re-raise below
        failed = exc
    finally:
        service, name = report.pop("_cleanup", (None, report.get("database")))
        if isinstance(service, infra.ServerProcess):
            # -15 is the normal end: uvicorn shuts down gracefully, then re-raises the SIGTERM it caught.
            report["service_exit_code"] = await service.stop()
            report["service_log"] = str(service.log_path)
            if failed is not None:
                print(f"service log ({service.log_path}):\n{service.log_tail()}", file=sys.stderr)
        if isinstance(name, str):
            try:
                await infra.drop_database(args.database_url, name)
            except Exception as exc:
                print(f"could not drop database {name}: {exc!r}", file=sys.stderr)
    if failed is not None:
        raise failed
    report["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    report["load_average_at_end"] = infra.load_average()
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print("\nmedians of the rounds:")
    for scenario, values in report["medians"].items():
        print(f"  {scenario:14} " + "  ".join(f"{k} {v}" for k, v in values.items()))
    print(f"wrote {args.output}")
    errors = sum(values["errors"] for values in report["medians"].values())
    return 1 if errors else 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(main_async(arguments(argv)))


if __name__ == "__main__":
    sys.exit(main())
