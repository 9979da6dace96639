"""Part 1: the gateway's IP decision in memory (`gateway/ip_index.py`), and what building it costs.

Every scenario makes random rules with a fixed seed, builds them the way the
gateway does (`AccountRules.build`, or `IpRuleIndex.load_snapshot` for many
accounts), checks a sample of decisions against a brute-force reference, then
times decisions one call at a time with `time.perf_counter_ns` (the timer's own
cost, measured the same way, subtracted) and in batches (total / calls), with
the garbage collector off as `timeit` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import json
import math
import random
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any

from bench.gateway import infra
from bench.gateway.stats import median, percentile, table
from gateway.client_address import Address, parse_address
from gateway.ip_index import AccountRules, Intervals, IpRuleIndex
from gateway.rule_sync import RuleSync
from tollgate_shared.bus import Delivery
from tollgate_shared.events import new_event
from tollgate_shared.events.models import IpRule, IpRulesChanged
from tollgate_shared.revocations import RevokedSessions

IPAddress = IPv4Address | IPv6Address
V6_BASE = int(IPv6Address("2001:db8::"))
V6_SPAN = 1 << 96  # 2001:db8::/32
GOAL_MEDIAN_NS_AT_100K = 2_000
BATCH = 1_000


# --- rules -------------------------------------------------------------------------
@dataclass(frozen=True)
class RuleMix:
    """Shares of one account's rules; the rest are non-overlapping IPv4 ranges for all users."""

    overlapping_v4: float = 0.20
    ipv6: float = 0.10
    per_user: float = 0.10
    users: int = 10  # users with rules of their own


def _v4(value: int) -> str:
    return str(IPv4Address(value))


def _v6(value: int) -> str:
    return str(IPv6Address(value))


def make_rules(count: int, rng: random.Random, mix: RuleMix = RuleMix()) -> tuple[list[dict[str, Any]], list[str]]:
    """`count` enabled rules of one account and the ids of its users with rules of their own.

    Non-overlapping IPv4 ranges sit each in its own slot of the address space;
    overlapping ones start inside one of those and run past its end (often into
    the next); IPv6 ranges are random in 2001:db8::/32; per-user rules are
    random IPv4 ranges of up to 65,536 addresses, spread over `mix.users` users.
    """
    n_v6 = round(count * mix.ipv6)
    n_user = round(count * mix.per_user)
    n_overlap = round(count * mix.overlapping_v4)
    n_plain = max(1, count - n_v6 - n_user - n_overlap)
    users = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(mix.users if n_user else 0)]
    rules: list[dict[str, Any]] = []

    def add(start: str, end: str, user_id: str | None = None) -> None:
        rules.append(
            {
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "user_id": user_id,
                "start_ip": start,
                "end_ip": end,
                "description": "",
                "enabled": True,
            }
        )

    slot = (1 << 32) // n_plain
    plain: list[tuple[int, int]] = []
    for index in range(n_plain):
        base = index * slot
        start = base + rng.randrange(max(1, slot // 2))
        end = min(start + rng.randrange(max(1, slot // 2)), (1 << 32) - 1)
        plain.append((start, end))
        add(_v4(start), _v4(end))
    for _ in range(n_overlap):
        start, end = rng.choice(plain)
        inner = rng.randint(start, end)
        add(_v4(inner), _v4(min(end + rng.randrange(1, slot + 2), (1 << 32) - 1)))
    for _ in range(n_v6):
        start = V6_BASE + rng.randrange(V6_SPAN)
        add(_v6(start), _v6(min(start + rng.randrange(1, 1 << 64), V6_BASE + V6_SPAN - 1)))
    for index in range(n_user):
        start = rng.randrange((1 << 32) - (1 << 16))
        add(_v4(start), _v4(start + rng.randrange(1 << 16)), users[index % len(users)])
    rng.shuffle(rules)
    return rules, users


def queries(
    rules: Sequence[dict[str, Any]], users: Sequence[str], count: int, rng: random.Random
) -> list[tuple[str, Address]]:
    """(user, address): half inside a random rule, half anywhere (IPv4 nine times in ten);
    half of them by users with rules of their own, half by users without. Addresses are
    made with `ipaddress`, as the gateway's `parse_address` would answer them."""
    strangers = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(16)]
    out: list[tuple[str, Address]] = []
    for _ in range(count):
        user = rng.choice(users) if users and rng.random() < 0.5 else rng.choice(strangers)
        address: IPAddress
        if rng.random() < 0.5:
            rule = rng.choice(rules)
            start, end = ip_address(rule["start_ip"]), ip_address(rule["end_ip"])
            value = rng.randint(int(start), int(end))
            address = IPv4Address(value) if start.version == 4 else IPv6Address(value)
        elif rng.random() < 0.9:
            address = IPv4Address(rng.getrandbits(32))
        else:
            address = IPv6Address(V6_BASE + rng.randrange(V6_SPAN))
        out.append((user, Address(address.version, int(address), str(address))))
    return out


Parsed = list[tuple[str | None, int, int, int]]  # (user_id, version, start, end) of enabled rules


def parsed_rules(rules: Sequence[dict[str, Any]]) -> Parsed:
    """The enabled rules as numbers, parsed with `ipaddress` (independent of the gateway's parser)."""
    out: Parsed = []
    for rule in rules:
        if rule["enabled"]:
            start, end = ip_address(rule["start_ip"]), ip_address(rule["end_ip"])
            out.append((rule["user_id"], start.version, int(start), int(end)))
    return out


def reference_allows(rules: Parsed, user_id: str, address: Address) -> bool:
    """DESIGN.md §1, literally: unrestricted without an applicable rule, else inside one of them."""
    applicable = [r for r in rules if r[0] is None or r[0] == user_id]
    if not applicable:
        return True
    return any(v == address.version and start <= address.value <= end for _, v, start, end in applicable)


# --- measuring ---------------------------------------------------------------------
def timer_overhead_ns(samples: int = 200_000) -> float:
    """What two back-to-back perf_counter_ns calls measure around nothing (median)."""
    clock = time.perf_counter_ns
    spans = [0] * samples
    for i in range(samples):
        t0 = clock()
        spans[i] = clock() - t0
    return median(spans)


Call = Callable[..., object]


def time_each(call: Call, args: Sequence[tuple[Any, ...]]) -> list[int]:
    """Nanoseconds per call, one perf_counter_ns pair around each (GC off)."""
    clock = time.perf_counter_ns
    spans = [0] * len(args)
    enabled = gc.isenabled()
    gc.disable()
    try:
        for i, a in enumerate(args):
            t0 = clock()
            call(*a)
            spans[i] = clock() - t0
    finally:
        if enabled:
            gc.enable()
    return spans


def time_batches(call: Call, args: Sequence[tuple[Any, ...]]) -> list[float]:
    """Mean nanoseconds per call over batches of BATCH calls (loop overhead included, as timeit)."""
    clock = time.perf_counter_ns
    means = []
    enabled = gc.isenabled()
    gc.disable()
    try:
        for offset in range(0, len(args) - BATCH + 1, BATCH):
            chunk = args[offset : offset + BATCH]
            t0 = clock()
            for a in chunk:
                call(*a)
            means.append((clock() - t0) / BATCH)
    finally:
        if enabled:
            gc.enable()
    return means


def decision_figures(call: Call, args: Sequence[tuple[Any, ...]], overhead: float, rounds: int) -> dict[str, float]:
    """Per-call median/p99 (timer overhead subtracted) and the batch mean, medians over `rounds`."""
    time_each(call, args[: min(len(args), 20_000)])  # warm
    p50s, p99s, p999s, batch = [], [], [], []
    for _ in range(rounds):
        spans = sorted(time_each(call, args))
        p50s.append(percentile(spans, 0.50) - overhead)
        p99s.append(percentile(spans, 0.99) - overhead)
        p999s.append(percentile(spans, 0.999) - overhead)
        batch.append(median(time_batches(call, args)))
    return {
        "p50_ns": median(p50s),
        "p99_ns": median(p99s),
        "p999_ns": median(p999s),
        "batch_mean_ns": median(batch),
        "calls_per_round": len(args),
        "rounds": rounds,
    }


def time_build(
    build: Callable[[], object], budget_s: float = 3.0, max_repeats: int = 200, min_repeats: int = 3
) -> dict[str, float]:
    """Median and minimum wall time of `build()`; repeated while the budget lasts (at least `min_repeats`)."""
    spans: list[float] = []
    started = time.perf_counter()
    while len(spans) < min_repeats or (len(spans) < max_repeats and time.perf_counter() - started < budget_s):
        t0 = time.perf_counter()
        build()
        spans.append(time.perf_counter() - t0)
    return {"build_ms": median(spans) * 1e3, "build_min_ms": min(spans) * 1e3, "build_repeats": len(spans)}


def _intervals_bytes(intervals: Intervals) -> int:
    """The intervals' containers, the ints a tuple points to (an array holds its values), the jump table."""
    size = sys.getsizeof(intervals) + sys.getsizeof(intervals.starts) + sys.getsizeof(intervals.ends)
    jump = getattr(intervals, "jump", None)
    if jump is not None:
        size += sys.getsizeof(jump)
    for bounds in (intervals.starts, intervals.ends):
        if isinstance(bounds, tuple):
            size += sum(sys.getsizeof(v) for v in bounds)
    return size


def _per_user(rules: AccountRules) -> dict[str, dict[int, Intervals]]:
    """Each user's intervals: `own` (own ranges only) or, in older versions, `per_user` (merged)."""
    per_user: dict[str, dict[int, Intervals]] = getattr(rules, "own", None) or getattr(rules, "per_user", {})
    return per_user


def account_bytes(rules: AccountRules) -> int:
    """Memory held by one account's built structure (its tuples and the ints in them)."""
    per_user = _per_user(rules)
    families = [rules.everyone] if rules.everyone else []
    families += list(per_user.values())
    return sum(_intervals_bytes(i) for f in families for i in f.values()) + sum(sys.getsizeof(k) for k in per_user)


def interval_count(rules: AccountRules) -> int:
    everyone = sum(len(i) for i in rules.everyone.values()) if rules.everyone else 0
    return everyone


# --- scenarios -----------------------------------------------------------------------
def one_account(count: int, *, seed: int, samples: int, rounds: int, overhead: float, check: int) -> dict[str, Any]:
    rng = random.Random(seed)
    rules, users = make_rules(count, rng)
    built = AccountRules.build(rules, 1)
    asked = queries(rules, users, samples, rng)
    reference = parsed_rules(rules)
    for user, address in asked[:check]:
        if built.allows(user, address) != reference_allows(reference, user, address):
            raise AssertionError(f"decision differs from the reference for {user} {address}")
    allowed = sum(built.allows(u, a) for u, a in asked) / len(asked)
    figures = decision_figures(built.allows, asked, overhead, rounds)
    # The gateway's whole per-request step: the client address arrives as text.
    texts = [(u, a.text) for u, a in asked]

    def edge(user: str, text: str) -> bool:
        return bool(built.allows(user, parse_address(text)))

    edge_figures = decision_figures(edge, texts, overhead, max(1, rounds // 2))
    return {
        "scenario": f"1 account, {count:,} rules",
        "accounts": 1,
        "rules": count,
        "users_with_own_rules": len(users),
        "merged_v4_intervals_all_users": len(built.everyone[4]) if built.everyone and 4 in built.everyone else 0,
        "log2_intervals": math.log2(max(2, interval_count(built))),
        "allowed_share": allowed,
        "checked_against_reference": min(check, len(asked)),
        **figures,
        "edge_p50_ns": edge_figures["p50_ns"],
        "edge_p99_ns": edge_figures["p99_ns"],
        **time_build(lambda: AccountRules.build(rules, 1)),
        "structure_bytes": account_bytes(built),
    }


def many_accounts(
    accounts: int, per_account: int, *, seed: int, samples: int, rounds: int, overhead: float, check: int
) -> dict[str, Any]:
    rng = random.Random(seed)
    snapshot = []
    every_rule: dict[str, tuple[list[dict[str, Any]], list[str]]] = {}
    for _ in range(accounts):
        account_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        rules, users = make_rules(per_account, rng)
        every_rule[account_id] = (rules, users)
        snapshot.append({"account_id": account_id, "revision": 1, "rules": rules})
    index = IpRuleIndex()
    index.load_snapshot(snapshot)
    ids = list(every_rule)
    asked: list[tuple[str, str, Address]] = []
    for _ in range(samples):
        account_id = rng.choice(ids)
        rules, users = every_rule[account_id]
        (user, address), *_ = queries(rules, users, 1, rng)
        asked.append((account_id, user, address))
    for account_id, user, address in asked[:check]:
        rules, _ = every_rule[account_id]
        if index.allows(account_id, user, address) != reference_allows(parsed_rules(rules), user, address):
            raise AssertionError("decision differs from the reference")
    figures = decision_figures(index.allows, asked, overhead, rounds)

    def snapshot_load() -> None:
        IpRuleIndex().load_snapshot(snapshot)

    body = json.dumps({"accounts": snapshot}).encode()

    def resync_unchanged() -> None:
        index.load_snapshot(json.loads(body)["accounts"])

    def resync_first() -> None:
        IpRuleIndex().load_snapshot(json.loads(body)["accounts"])

    return {
        "scenario": f"{accounts:,} accounts x {per_account} rules",
        "accounts": accounts,
        "rules": accounts * per_account,
        "allowed_share": sum(index.allows(*a) for a in asked) / len(asked),
        "checked_against_reference": min(check, len(asked)),
        **figures,
        **time_build(snapshot_load),
        "structure_bytes": sum(account_bytes(a) for a in index.accounts.values()),
        "snapshot_json_bytes": len(body),
        "resync_first_ms": time_build(resync_first)["build_ms"],
        "resync_unchanged_ms": time_build(resync_unchanged)["build_ms"],
        **resync_stall(body),
    }


def shared_rules(count: int, *, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rules, _ = make_rules(count, rng, RuleMix(per_user=0.0, users=0))
    return rules


def per_user_row(base: list[dict[str, Any]], users: int, *, seed: int) -> dict[str, Any]:
    """Build cost of one account with the all-users rules `base` and `users` users with one rule each.

    `AccountRules.build` merges the all-users rules into every such user's own
    intervals, so build time and memory grow as users x all-users rules.
    """
    rng = random.Random(seed + users)
    own = []
    for _ in range(users):
        start = rng.randrange(1 << 31)
        own.append(
            {
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "user_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "start_ip": _v4(start),
                "end_ip": _v4(start + 255),
                "description": "",
                "enabled": True,
            }
        )
    rules = base + own
    t0 = time.perf_counter()
    built = AccountRules.build(rules, 1)
    first = time.perf_counter() - t0
    size = account_bytes(built)
    del built
    gc.collect()
    if first > 2.0:  # one build is figure enough
        timing = {"build_ms": first * 1e3, "build_min_ms": first * 1e3, "build_repeats": 1}
    else:
        timing = time_build(functools.partial(AccountRules.build, rules, 1), budget_s=2.0)
    gc.collect()
    return {"shared_rules": len(base), "users_with_own_rule": users, **timing, "structure_bytes": size}


class LoopStalls:
    """The longest time the event loop could not run a 1 ms ticker (what every request would wait)."""

    def __init__(self, tick_s: float = 0.001) -> None:
        self.tick_s = tick_s
        self.longest_s = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.tick_s)
            self.longest_s = max(self.longest_s, time.perf_counter() - before - self.tick_s)

    async def __aenter__(self) -> LoopStalls:
        self._task = asyncio.create_task(self._tick())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def change_event(count: int, *, seed: int) -> dict[str, Any]:
    """One `auth.ip_rules.changed` of an account with `count` rules, handled as the gateway does
    (`RuleSync.on_event`: the envelope parsed, the data validated once, the rules built, in a
    thread for a large event, then swapped in), with a 1 ms ticker on the event loop
    measuring how long the loop could not run meanwhile."""
    rng = random.Random(seed)
    rules, _ = make_rules(count, rng)
    account_id = str(uuid.uuid4())
    revisions = iter(range(2, 1_000_000))
    index = IpRuleIndex()
    sync = RuleSync(index, RevokedSessions(60), fetch=_no_fetch)

    def delivery() -> Delivery:
        data = IpRulesChanged(account_id=account_id, rules=[IpRule(**r) for r in rules], revision=next(revisions))
        envelope = new_event(data, source="auth", account_id=account_id)
        return Delivery(message_id=envelope.id, routing_key=envelope.type, body=envelope.to_json(), headers={})

    async def handle(message: Delivery) -> tuple[float, float]:
        async with LoopStalls() as stalls:
            t0 = time.perf_counter()
            await sync.on_event(message)
            elapsed = time.perf_counter() - t0
        return elapsed, stalls.longest_s

    sample = delivery()
    spans: list[float] = []
    stalls: list[float] = []
    started = time.perf_counter()
    while len(spans) < 3 and (not spans or time.perf_counter() - started < 5.0):
        message = delivery()
        elapsed, stall = asyncio.run(handle(message))
        spans.append(elapsed)
        stalls.append(stall)
    assert index.revision(account_id) > 1
    return {
        "rules": count,
        "message_bytes": len(sample.body),
        "on_event_ms": median(spans) * 1e3,
        "loop_stall_max_ms": median(stalls) * 1e3,
    }


def resync_stall(snapshot_body: bytes) -> dict[str, float]:
    """`RuleSync.resync` of a snapshot into an empty index, the answer's JSON parsed on the loop
    as aiohttp does: wall time and the longest event-loop stall."""

    async def fetch(path: str) -> dict[str, Any]:
        if path == "/internal/ip-rules":
            parsed: dict[str, Any] = json.loads(snapshot_body)
            return parsed
        return {"session_ids": []}

    async def once() -> tuple[float, float]:
        sync = RuleSync(IpRuleIndex(), RevokedSessions(60), fetch=fetch)
        async with LoopStalls() as stalls:
            t0 = time.perf_counter()
            await sync.resync()
            elapsed = time.perf_counter() - t0
        return elapsed, stalls.longest_s

    runs = [asyncio.run(once()) for _ in range(3)]
    return {
        "resync_first_wall_ms": median([r[0] for r in runs]) * 1e3,
        "resync_first_loop_stall_max_ms": median([r[1] for r in runs]) * 1e3,
    }


async def _no_fetch(path: str) -> dict[str, Any]:
    raise ConnectionError(path)


# --- the part ---------------------------------------------------------------------------
Guard = Callable[[Callable[[], dict[str, Any]]], dict[str, Any]]


def guarded(quiet_wait_s: float, log: Callable[[str], None], attempts: int = 3, noise_cores: float = 0.35) -> Guard:
    """Run a measurement when no other benchmark runs; again (up to `attempts`) if the rest of the
    machine took more than `noise_cores` meanwhile or another benchmark appeared."""

    def guard(measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for attempt in range(1, attempts + 1):
            infra.wait_quiet(quiet_wait_s, log)
            busy, own, start = infra.machine_busy_seconds(), time.process_time(), time.monotonic()
            result = measure()
            elapsed = time.monotonic() - start
            other = max(0.0, (infra.machine_busy_seconds() - busy) - (time.process_time() - own)) / elapsed
            seen = infra.other_benchmarks()
            result.update({"other_cores": other, "attempts": attempt})
            if other <= noise_cores and not seen:
                break
            log(f"[ip] noisy measurement (other cores {other:.2f}, other benchmarks {bool(seen)}); again")
        return result

    return guard


def run(
    *,
    sizes: Sequence[int] = (10, 1_000, 100_000),
    accounts: int = 10_000,
    per_account: int = 10,
    samples: int = 200_000,
    rounds: int = 3,
    user_scaling: Sequence[int] = (0, 1, 10, 100),
    event_sizes: Sequence[int] = (1_000, 100_000),
    seed: int = 20240601,
    log: Callable[[str], None] = print,
    quiet_wait_s: float = 1800.0,
) -> dict[str, Any]:
    guard = guarded(quiet_wait_s, log)
    overhead = guard(lambda: {"ns": timer_overhead_ns()})["ns"]
    log(f"[ip] perf_counter_ns pair overhead: {overhead:.0f} ns (subtracted)")
    scenarios = []
    for size in sizes:
        result = guard(
            functools.partial(
                one_account, size, seed=seed + size, samples=samples, rounds=rounds, overhead=overhead, check=1_000
            )
        )
        log(
            f"[ip] {result['scenario']}: p50 {result['p50_ns']:.0f} ns, p99 {result['p99_ns']:.0f} ns, "
            f"build {result['build_ms']:.2f} ms"
        )
        scenarios.append(result)
    if accounts:
        result = guard(
            functools.partial(
                many_accounts, accounts, per_account, seed=seed, samples=samples, rounds=rounds, overhead=overhead,
                check=300,
            )
        )  # fmt: skip
        log(
            f"[ip] {result['scenario']}: p50 {result['p50_ns']:.0f} ns, p99 {result['p99_ns']:.0f} ns, "
            f"load {result['build_ms']:.0f} ms"
        )
        scenarios.append(result)
    scaling = []
    if user_scaling:
        base = shared_rules(max(sizes), seed=seed)
        for users in user_scaling:
            row = guard(functools.partial(per_user_row, base, users, seed=seed))
            log(f"[ip] {row['shared_rules']:,} all-users rules + {users} users: build {row['build_ms']:.0f} ms")
            scaling.append(row)
    events = []
    for size in event_sizes:
        row = guard(functools.partial(change_event, size, seed=seed))
        log(
            f"[ip] ip_rules.changed of {row['rules']:,} rules: handled in {row['on_event_ms']:.0f} ms, "
            f"event loop stalled at most {row['loop_stall_max_ms']:.1f} ms"
        )
        events.append(row)
    largest = next((s for s in scenarios if s["accounts"] == 1 and s["rules"] == max(sizes)), None)
    goal = {
        "median_under_2us_at_100k": bool(largest and largest["rules"] >= 100_000 and largest["p50_ns"] < 2_000),
        "growth": _growth(scenarios),
    }
    return {
        "timer_overhead_ns": overhead,
        "scenarios": scenarios,
        "per_user_build_scaling": scaling,
        "change_events": events,
        "goal": goal,
    }


def _growth(scenarios: Sequence[dict[str, Any]]) -> str:
    single = sorted((s for s in scenarios if s["accounts"] == 1), key=lambda s: s["rules"])
    if len(single) < 2:
        return "n/a"
    first, last = single[0], single[-1]
    return (
        f"p50 {first['p50_ns']:.0f} → {last['p50_ns']:.0f} ns while log2(intervals) "
        f"{first['log2_intervals']:.1f} → {last['log2_intervals']:.1f}"
    )


def markdown(result: dict[str, Any]) -> str:
    rows = [
        (
            s["scenario"],
            s["p50_ns"],
            s["p99_ns"],
            s["batch_mean_ns"],
            s.get("edge_p50_ns", float("nan")),
            s["build_ms"],
            s["structure_bytes"] / 1e6,
        )
        for s in result["scenarios"]
    ]
    parts = [
        table(
            (
                "scenario",
                "decision p50 ns",
                "p99 ns",
                "batch mean ns",
                "parse + decide p50 ns",
                "build ms",
                "structure MB",
            ),
            rows,
        )
    ]
    if result["per_user_build_scaling"]:
        parts.append(
            table(
                ("all-users rules", "users with an own rule", "build ms", "structure MB"),
                [
                    (r["shared_rules"], r["users_with_own_rule"], r["build_ms"], r["structure_bytes"] / 1e6)
                    for r in result["per_user_build_scaling"]
                ],
            )
        )
    if result["change_events"]:
        parts.append(
            table(
                ("rules in the account", "event body MB", "on_event ms", "longest event-loop stall ms"),
                [
                    (r["rules"], r["message_bytes"] / 1e6, r["on_event_ms"], r.get("loop_stall_max_ms", float("nan")))
                    for r in result["change_events"]
                ],
            )
        )
    many = [s for s in result["scenarios"] if "resync_first_ms" in s]
    if many:
        parts.append(
            table(
                (
                    "snapshot",
                    "JSON MB",
                    "load_snapshot ms, fresh",
                    "load_snapshot ms, unchanged",
                    "RuleSync.resync wall ms",
                    "longest event-loop stall ms",
                ),
                [
                    (
                        s["scenario"],
                        s["snapshot_json_bytes"] / 1e6,
                        s["resync_first_ms"],
                        s["resync_unchanged_ms"],
                        s.get("resync_first_wall_ms", float("nan")),
                        s.get("resync_first_loop_stall_max_ms", float("nan")),
                    )
                    for s in many
                ],
            )
        )
    return "\n\n".join(parts)
