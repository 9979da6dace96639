"""Orders per second through the gateway, on one account and across many, with one and two billing processes.

    uv run --frozen python -m bench.billing.run [--rounds 3] [--seconds 15] [--concurrency 32] [--profile]
    uv run --frozen python -m bench.billing.run --invoicing   # end to end: each order followed to its invoice

Throwaway PostgreSQL databases (`bench_billing_<hex>_auth`, `..._billing`,
migrated with alembic), and as separate processes (`tollgate serve`, production
settings, random secrets, RabbitMQ): auth, billing-1, billing-2, and two
gateways, one routing billing to billing-1 only, one balancing across both.
Accounts are signed up through the gateway and credited through the finance
approval path (see bench/billing/seed.py). Then rounds of four phases,
interleaved: {1 account, N accounts} x {1 billing process, 2}, each N clients in
closed loops placing orders (`POST /api/billing/orders`, paid from credits) for
a fixed time. Writes bench/results/billing.json and .md; exit status 0 only
when the goal is met (>= 300 orders/s, and two processes faster than one).

With `--invoicing` (issue 19's end-to-end benchmark) an invoicing process runs
too (its own database `..._invoicing`), consuming the orders' events from the
bus, and both gateways route `/api/invoices` to it. After each phase's window
the bench counts the window's orders that already have their invoice, waits
(at most 180 s) until every one has it, paid, and reports the drain, the lag
from each order's answer to its invoice's `created_at` (p50, p95, max),
invoicing's CPU per invoice (its process and its database's backends, from the
window's start until the last invoice is paid), how many events each of its
transactions applied, and whether a few invoices list through the gateway. It
writes bench/results/billing-invoicing.json and .md; the goal adds the issue's
end-to-end goals (bench/billing/report.py). It is an option, not the default:
without it the figures stay comparable with every earlier billing run (and
billing's CPU per order is measured without a neighbour on its two cores).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.billing import cpu, invoices, load, profile, report, seed
from bench.billing.stack import (
    Stack,
    billing_queues,
    consumers_of,
    create_databases,
    drop_databases,
    invoicing_queues,
    query_value,
)
from bench.common import BackendSampler, autovacuum_stand_in, delete_queues, load_average, machine, server_version

DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
# The vhost this project's runs use on the shared broker; billing's queues have fixed names, so
# no test or other billing may run on the same vhost meanwhile (the bench refuses if one consumes).
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/h2"
RESULTS = Path(__file__).resolve().parents[1] / "results" / "billing.json"
E2E_RESULTS = RESULTS.with_name("billing-invoicing.json")


def arguments(argv: list[str] | None) -> argparse.Namespace:
    paragraphs = __doc__.split("\n\n")
    parser = argparse.ArgumentParser(
        prog="python -m bench.billing.run",
        description=paragraphs[0],
        epilog=next(p for p in paragraphs if p.startswith("With `--invoicing`")),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of the four phases, interleaved (0 with --profile: profile only)"
    )
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds per phase")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds of the same load first")
    parser.add_argument("--concurrency", type=int, default=32, help="clients in closed loops")
    parser.add_argument("--accounts", type=int, default=100, help="accounts of the spread phases")
    parser.add_argument("--credits", type=Decimal, default=Decimal("10000000.00"), help="seeded per account")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="then one more phase (N accounts, one process) with billing-1 (and invoicing) under cProfile; "
        "writes billing.prof (and billing-invoicing.prof, billing-invoicing.invoicing.prof)",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("TOLLGATE_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="a PostgreSQL server's admin URL; the bench creates and drops its own databases there",
    )
    parser.add_argument(
        "--amqp-url",
        default=os.environ.get("TOLLGATE_BENCH_AMQP_URL", DEFAULT_AMQP_URL),
        help="the vhost billing's queues live in during the run (deleted at the end)",
    )
    parser.add_argument(
        "--billing-setting",
        action="append",
        default=[],
        metavar="TOLLGATE_NAME=VALUE",
        help="a setting for both billing processes (repeatable), e.g. TOLLGATE_ORDERS_PER_ACCOUNT_AT_ONCE=4",
    )
    parser.add_argument(
        "--invoicing",
        action="store_true",
        help="end to end: an invoicing process too, each order followed to its invoice (drain, lag, CPU per invoice)",
    )
    parser.add_argument(
        "--output", type=Path, help="default bench/results/billing.json, or billing-invoicing.json with --invoicing"
    )
    args = parser.parse_args(argv)
    args.output = args.output or (E2E_RESULTS if args.invoicing else RESULTS)
    if not all(setting.startswith("TOLLGATE_") and "=" in setting for setting in args.billing_setting):
        parser.error("--billing-setting takes TOLLGATE_NAME=VALUE")
    if args.rounds < (0 if args.profile else 1) or args.seconds <= 0 or args.concurrency < 1 or args.accounts < 1:
        parser.error("--rounds, --seconds, --concurrency and --accounts must be positive")
    return args


def other_benchmarks() -> list[str]:
    """Command lines of other `bench.*` runs on the machine now (noise the figures carry)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        with contextlib.suppress(OSError), open(f"/proc/{entry}/cmdline", "rb") as cmdline:
            text = cmdline.read().replace(b"\0", b" ").decode(errors="replace").strip()
            if " -m bench." in text and "bench.billing" not in text:
                found.append(f"{entry} {text[:120]}")
    return found


class Bench:
    def __init__(self, args: argparse.Namespace, stack: Stack, log: Callable[[str], None]) -> None:
        self.args = args
        self.stack = stack
        self.log = log
        self.accounts: list[seed.Account] = []
        self.rabbitmq = cpu.rabbitmq_pid()

    @property
    def invoicing(self) -> bool:
        return self.stack.invoicing

    @property
    def billing_url(self) -> str:
        return self.stack.databases.url("billing")

    @property
    def invoicing_url(self) -> str:
        return self.stack.databases.url("invoicing")

    @property
    def databases(self) -> dict[str, str]:
        """The databases whose backends are measured, by their name in the figures."""
        names = {"postgres": self.billing_url}
        if self.invoicing:
            names["invoicing_postgres"] = self.invoicing_url
        return names

    async def unsent(self) -> int:
        return int(await query_value(self.billing_url, "SELECT count(*) FROM outbox WHERE sent_at IS NULL") or 0)

    async def drain(self, within: float = 180.0) -> float:
        """Wait until the outbox relays have published everything; answer the seconds waited."""
        started = time.monotonic()
        while await self.unsent():
            if time.monotonic() - started > within:
                raise RuntimeError(f"the outbox still had {await self.unsent()} unsent events after {within:.0f}s")
            await asyncio.sleep(0.2)
        return time.monotonic() - started

    async def phase(
        self,
        *,
        processes: int,
        accounts: int,
        measuring: Callable[[bool], Awaitable[None]] | None = None,
    ) -> dict[str, Any]:
        """Warm up, then `--seconds` of load measured until the outbox is drained (`measuring(True)` at
        the start of that, `measuring(False)` at its end); with invoicing, followed until every order of
        the window has its invoice, paid."""
        gateway = self.stack["gateway-one" if processes == 1 else "gateway-two"]
        tokens = [a.token for a in self.accounts[:accounts]]
        billing = [f"billing-{n}" for n in range(1, processes + 1)]
        system = [*billing, gateway.name, "auth", "postgres"]  # what places an order (not the load, not the broker)
        warmup = await load.place_orders(
            gateway.url, tokens, seconds=self.args.warmup, concurrency=self.args.concurrency
        )
        await self.drain()
        follower = invoices.InvoiceFollower(self.invoicing_url, gateway.url) if self.invoicing else None
        if follower is not None:
            await follower.before_window(warmup.paid_orders)
        watched = {name: self.stack[name].pid for name in [*billing, gateway.name, "auth"]}
        if self.rabbitmq is not None:
            watched["rabbitmq"] = self.rabbitmq
        if self.invoicing:
            watched["invoicing"] = self.stack["invoicing"].pid
        noise = other_benchmarks()
        load_before = load_average()
        meter = await cpu.Meter.started(watched, self.databases)
        samplers = {name: BackendSampler(url) for name, url in self.databases.items()}
        for sampler in samplers.values():
            sampler.start()
        if measuring is not None:
            await measuring(True)
        window_started = time.time()
        outcome = await load.place_orders(
            gateway.url, tokens, seconds=self.args.seconds, concurrency=self.args.concurrency
        )
        window_ended = time.time()
        if follower is not None:
            await follower.at_window_end(outcome.paid_orders)
        # Stopped first: their own backends are not the services'.
        connections = {name: await sampler.stop() for name, sampler in samplers.items()}
        during = await meter.spent()
        unsent = await self.unsent()
        drain_seconds = await self.drain()
        spent = await meter.spent()
        followed = {}
        if follower is not None:
            window = (window_started, window_ended)
            followed = await follower.after_window(outcome.paid_orders, meter, window=window, system=system)
        if measuring is not None:
            await measuring(False)
        result = outcome.summary()
        orders = max(int(result["orders"]), 1)

        def cores(*names: str) -> float:
            return sum(during.get(n, 0.0) for n in names) / during["wall"]

        def per_order(*names: str) -> float:
            return sum(spent.get(n, 0.0) for n in names) * 1000 / orders

        result.update(
            {
                "phase": f"{processes}p-{accounts}a",
                "processes": processes,
                "accounts": accounts,
                "concurrency": self.args.concurrency,
                "load_average_before": load_before,
                "other_benchmarks": noise or other_benchmarks(),
                "outbox_unsent_at_end": unsent,
                "drain_seconds": round(drain_seconds, 2),
                # An order is done when its events are on the bus too: the rate counting
                # the time the relays took to publish what the load left in the outbox.
                "sustained_orders_per_second": result["orders"] / (result["seconds"] + drain_seconds),
                "billing_cores": cores(*billing),
                "gateway_cores": cores(gateway.name),
                "auth_cores": cores("auth"),
                "postgres_cores": cores("postgres"),
                "client_cores": cores("client"),
                "rabbitmq_cores": cores("rabbitmq"),
                "other_cores": cores("other"),
                "machine_cores": cores("machine"),
                "billing_cores_each": {n: during.get(n, 0.0) / during["wall"] for n in billing},
                "billing_cpu_ms_per_order": per_order(*billing),
                "gateway_cpu_ms_per_order": per_order(gateway.name),
                "postgres_cpu_ms_per_order": per_order("postgres"),
                "client_cpu_ms_per_order": per_order("client"),
                "rabbitmq_cpu_ms_per_order": per_order("rabbitmq"),
                "system_cpu_ms_per_order": per_order(*system),
                "cpu_seconds_until_drained": {k: round(v, 3) for k, v in spent.items()},
                "billing_connections": connections["postgres"],
                **followed,
            }
        )
        if self.invoicing:
            result["invoicing_cores"] = cores("invoicing")
            result["invoicing_postgres_cores"] = cores("invoicing_postgres")
            result["invoicing_connections"] = connections["invoicing_postgres"]
        self.log_phase(result)
        return result

    def log_phase(self, result: dict[str, Any]) -> None:
        line = (
            f"  {result['phase']}: {result['orders_per_second']:.0f} orders/s "
            f"({result['sustained_orders_per_second']:.0f} with its events published), p50 {result['p50_ms']:.1f} ms, "
            f"p95 {result['p95_ms']:.1f} ms, errors {result['errors']}, billing {result['billing_cores']:.2f} cores, "
            f"gateway {result['gateway_cores']:.2f}, postgres {result['postgres_cores']:.2f}, "
            f"client {result['client_cores']:.2f}, other {result['other_cores']:.2f}; "
            f"{result['system_cpu_ms_per_order']:.1f} ms CPU/order; load {result['load_average_before'][0]}"
        )
        if self.invoicing:
            line += "\n" + invoices.log_line(result)
        self.log(line)

    async def rounds(self) -> list[dict[str, Any]]:
        phases: list[dict[str, Any]] = []
        for number in range(self.args.rounds):
            order = [1, 2] if number % 2 == 0 else [2, 1]
            accounts = [1, self.args.accounts] if number % 2 == 0 else [self.args.accounts, 1]
            for processes in order:
                if processes == 2 and not self.stack["billing-2"].alive():
                    await self.stack.start("billing-2")
                if processes == 1 and self.stack["billing-2"].alive():
                    await self.stack.stop("billing-2")
                for count in accounts:
                    self.log(f"round {number + 1}/{self.args.rounds}, {processes} process(es), {count} account(s)")
                    phases.append({"round": number + 1, **await self.phase(processes=processes, accounts=count)})
        return phases

    async def profiled(self, output: Path) -> dict[str, Any]:
        """One phase on N accounts with billing-1 alone, under cProfile from the end of the warm-up
        until the outbox is drained (start-up and warm-up left out); with invoicing, invoicing too (until
        the phase's invoices are paid), its stats in `<output>.invoicing.prof` and under "invoicing"."""
        stats = {"billing-1": output}
        if self.invoicing:
            stats["invoicing"] = output.with_suffix(".invoicing.prof")
        for name in ("billing-2", *stats):
            await self.stack.stop(name)
        for name, path in stats.items():
            await asyncio.to_thread(path.unlink, missing_ok=True)
            await self.stack.start(name, profile_to=path)

        async def measuring(on: bool) -> None:
            for name in stats:
                self.stack[name].signal(signal.SIGUSR1 if on else signal.SIGUSR2)
            if not on:  # until the stats are written (at most a minute)
                for _ in range(300):
                    if all(await asyncio.to_thread(lambda: [path.exists() for path in stats.values()])):
                        break
                    await asyncio.sleep(0.2)
                await asyncio.sleep(1.0)

        measured = await self.phase(processes=1, accounts=self.args.accounts, measuring=measuring)
        for name in stats:
            await self.stack.stop(name)
        summary = {"phase": measured, **profile.summarise(output, orders=measured["orders"])}
        if self.invoicing:
            summary["invoicing"] = profile.summarise(stats["invoicing"], orders=measured["orders"])
        return summary

    async def reconcile(self) -> dict[str, Any]:
        """`tollgate billing reconcile` against the bench's database: every balance = its ledger."""
        env = self.stack.environment(TOLLGATE_BILLING_DATABASE_URL=self.billing_url)
        command = [sys.executable, "-m", "tollgate.cli", "billing", "reconcile"]
        done = await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True, text=True, timeout=120)
        return {"exit_status": done.returncode, "output": (done.stdout + done.stderr).strip()[-500:]}


def fixed_queues(args: argparse.Namespace, retry_delays: Sequence[float]) -> list[str]:
    """The services' own queues this run uses (fixed names, hence one run per vhost)."""
    return billing_queues(retry_delays) + (invoicing_queues(retry_delays) if args.invoicing else [])


async def measure(
    args: argparse.Namespace, stack: Stack, result: dict[str, Any], log: Callable[[str], None]
) -> dict[str, Any]:
    """The stack started, the accounts signed up and credited, the rounds; `result` filled in."""
    started = time.monotonic()
    await stack.start_all()
    log(f"processes up in {time.monotonic() - started:.1f}s; signing up {args.accounts} accounts")
    bench = Bench(args, stack, log)
    gateway = stack["gateway-two"].url
    started = time.monotonic()
    bench.accounts = await seed.sign_up_accounts(gateway, args.accounts)
    signed_up = time.monotonic() - started
    credited = await seed.credit_accounts(gateway, args.amqp_url, bench.billing_url, bench.accounts, args.credits)
    log(f"signed up in {signed_up:.1f}s, credited {args.credits} each in {credited:.1f}s")
    result["setup_seconds"] = {"sign_up": round(signed_up, 1), "credit": round(credited, 1)}
    result["phases"] = await bench.rounds()
    result["medians"] = report.medians(result["phases"])
    result["goal"] = report.goal(result["medians"]) if result["medians"] else {"met": False}
    if args.profile:
        log(f"profiling billing-1{' and invoicing' if args.invoicing else ''} (cProfile) on one more phase")
        result["profile"] = await bench.profiled(args.output.with_suffix(".prof"))
    result["reconcile"] = await bench.reconcile()
    return result


async def run(args: argparse.Namespace, log: Callable[[str], None]) -> dict[str, Any]:
    for queue in fixed_queues(args, ()):
        if await consumers_of(args.amqp_url, queue):
            raise SystemExit(f"{queue} already has consumers on {args.amqp_url}: another run uses this vhost")
    databases = await create_databases(args.database_url, invoicing=args.invoicing)
    log_dir = args.output.parent / f"{args.output.stem}-logs"  # billing-logs, billing-invoicing-logs
    log_dir.mkdir(parents=True, exist_ok=True)
    billing_settings = dict(setting.split("=", 1) for setting in args.billing_setting)
    stack = Stack(databases, args.amqp_url, log_dir, billing_settings=billing_settings, invoicing=args.invoicing)
    stack.plan()
    result: dict[str, Any] = {"databases": [databases.name(s) for s in databases.services]}
    try:
        async with autovacuum_stand_in(args.database_url, [databases.url(s) for s in databases.services]) as stand_in:
            result["autovacuum"] = "the bench's stand-in: VACUUM (ANALYZE) every 10 s" if stand_in else "the server's"
            return await measure(args, stack, result, log)
    finally:
        await stack.stop_all()
        await delete_queues(args.amqp_url, fixed_queues(args, stack.retry_delay_values()))
        await drop_databases(databases)


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)

    def log(message: str) -> None:
        print(message, flush=True)

    results: dict[str, Any] = {
        "benchmark": "billing with invoicing" if args.invoicing else "billing",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "uv run --frozen python -m bench.billing.run " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": {**machine(), "load_average_at_start": load_average()},
        "options": {k: str(v) for k, v in vars(args).items()},
        "postgres": asyncio.run(server_version(args.database_url)),
    }
    results.update(asyncio.run(run(args, log)))
    results["load_average_at_end"] = load_average()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2, default=str) + "\n")
    text = report.markdown(results)
    args.output.with_suffix(".md").write_text(text)
    print("\n" + text)
    print(json.dumps({"goal": results["goal"], "reconcile": results["reconcile"]}, indent=2))
    print(f"wrote {args.output}")
    return 0 if results["goal"]["met"] and results["reconcile"]["exit_status"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
