"""What metrics cost: CPU per request of the request timer, and per scrape of the management port.

Part 1 calls an app the way uvicorn does (ASGI, no sockets, so only the app's
CPU is measured) with and without `HttpMetrics`, in alternating rounds, and
reports the CPU time of this process per request (utime + stime, as the other
benchmarks read it from /proc, here through `time.process_time` for its finer
resolution). Part 2 fills the registry as four busy services would and times
scrapes: rendering alone, and over HTTP from the aiohttp listener on the event
loop and from prometheus_client's threaded `start_http_server`.

    uv run python -m bench.metrics.run [--requests 20000] [--rounds 5] [--scrapes 200]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from fastapi import FastAPI
from prometheus_client import REGISTRY, generate_latest, start_http_server

from bench.common import free_port, load_average, machine
from tollgate_shared.metrics.catalogue import HTTP_REQUEST_DURATION
from tollgate_shared.metrics.http import HttpMetrics
from tollgate_shared.metrics.listener import metrics_listener

RESULTS = Path("bench/results/metrics.json")
ROUTES = 20  # a service's routes, the one called last in the list (routing cost is FastAPI's either way)


def service_like_app() -> FastAPI:
    app = FastAPI()
    for index in range(ROUTES - 1):

        async def other(thing_id: str) -> dict[str, str]:
            return {"id": thing_id}

        app.add_api_route(f"/api/billing/things{index}/{{thing_id}}", other, methods=["GET"])

    @app.get("/api/billing/orders/{order_id}")
    async def get_order(order_id: str) -> dict[str, str]:
        return {"order_id": order_id}

    return app


async def bare_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def scope_for(path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def send(_message: Any) -> None:
    return None


async def cpu_per_request(app: Any, requests: int) -> float:
    """Microseconds of this process's CPU per request."""
    started = time.process_time()
    for number in range(requests):
        await app(scope_for(f"/api/billing/orders/ord-{number % 1000}"), receive, send)
    return (time.process_time() - started) / requests * 1e6


async def part_requests(requests: int, rounds: int) -> dict[str, Any]:
    fastapi_plain = service_like_app()
    fastapi_timed_app = service_like_app()
    fastapi_timed = HttpMetrics(fastapi_timed_app, service="bench", routes=fastapi_timed_app.router.routes)
    bare_timed = HttpMetrics(bare_app, service="bench", route_of=lambda scope: "/bare")
    pairs = {"FastAPI app (20 routes)": (fastapi_plain, fastapi_timed), "bare ASGI app": (bare_app, bare_timed)}
    figures: dict[str, Any] = {}
    for name, (plain, timed) in pairs.items():
        await cpu_per_request(plain, 2000)  # warm up both
        await cpu_per_request(timed, 2000)
        off, on = [], []
        for _ in range(rounds):
            off.append(await cpu_per_request(plain, requests))
            on.append(await cpu_per_request(timed, requests))
        figures[name] = {
            "off_us": [round(v, 1) for v in off],
            "on_us": [round(v, 1) for v in on],
            "median_off_us": round(statistics.median(off), 1),
            "median_on_us": round(statistics.median(on), 1),
            "median_added_us": round(statistics.median(b - a for a, b in zip(off, on, strict=True)), 1),
        }
    return figures


def fill_registry(routes: int) -> int:
    """Series as four services would have with `routes` routes each, every one answered 2xx and 4xx."""
    for service in ("auth", "billing", "invoicing", "gateway"):
        for route in range(routes):
            for status_class in ("2xx", "4xx"):
                child = HTTP_REQUEST_DURATION.labels(service, "GET", f"/api/{service}/r{route}/{{id}}", status_class)
                child.observe(0.01)
    return sum(len(family.samples) for family in REGISTRY.collect())


class LoopLag:
    """How late the event loop was for a 1 ms timer while running: what a request arriving meanwhile waits."""

    def __init__(self) -> None:
        self.lags_ms: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(0.001)
            self.lags_ms.append((time.perf_counter() - started - 0.001) * 1000)

    def summary(self) -> dict[str, float]:
        ordered = sorted(self.lags_ms) or [0.0]
        return {
            "loop_lag_p99_ms": round(ordered[int(len(ordered) * 0.99)], 1),
            "loop_lag_max_ms": round(ordered[-1], 1),
        }

    def __enter__(self) -> LoopLag:
        self._task = asyncio.create_task(self._tick())
        return self

    def __exit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def timed_scrapes(url: str, scrapes: int) -> dict[str, float]:
    """Median wall ms per scrape, this process's CPU ms per scrape (server and client), the loop's worst lag."""
    walls = []
    cpu_before = time.process_time()
    with LoopLag() as lag:
        async with aiohttp.ClientSession() as session:
            for _ in range(scrapes):
                started = time.perf_counter()
                async with session.get(url) as answer:
                    await answer.read()
                walls.append((time.perf_counter() - started) * 1000)
    return {
        "median_wall_ms": round(statistics.median(walls), 2),
        "cpu_ms_per_scrape": round((time.process_time() - cpu_before) / scrapes * 1000, 2),
        **lag.summary(),
    }


async def idle_lag(seconds: float) -> dict[str, float]:
    """The loop's lag with nothing scraped: this machine's noise."""
    with LoopLag() as lag:
        await asyncio.sleep(seconds)
    return lag.summary()


@contextlib.asynccontextmanager
async def rendering_on_the_loop() -> Any:
    """The listener as it would be with `generate_latest` called on the loop (the variant not chosen)."""

    async def scrape(_request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": "text/plain"})

    app = web.Application()
    app.router.add_get("/metrics", scrape)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/metrics"
    finally:
        await runner.cleanup()


async def part_scrapes(scrapes: int, routes: int) -> dict[str, Any]:
    series = fill_registry(routes)
    started = time.process_time()
    for _ in range(scrapes):
        body = generate_latest(REGISTRY)
    render_ms = (time.process_time() - started) / scrapes * 1000
    figures: dict[str, Any] = {"series": series, "bytes": len(body), "render_cpu_ms": round(render_ms, 2)}
    figures["no scrape (the machine's noise)"] = await idle_lag(3.0)
    async with metrics_listener("127.0.0.1", 0) as url:
        figures["listener: aiohttp, rendered in a worker thread"] = await timed_scrapes(url, scrapes)
    async with rendering_on_the_loop() as url:
        figures["aiohttp, rendered on the loop"] = await timed_scrapes(url, scrapes)
    port = free_port()
    server, _thread = start_http_server(port, addr="127.0.0.1")
    try:
        figures["prometheus_client start_http_server"] = await timed_scrapes(
            f"http://127.0.0.1:{port}/metrics", scrapes
        )
    finally:
        server.shutdown()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--scrapes", type=int, default=200)
    parser.add_argument("--routes", type=int, default=25, help="routes per service filled in the registry")
    args = parser.parse_args()
    import uvloop

    load_before = load_average()
    requests = uvloop.run(part_requests(args.requests, args.rounds))
    scrapes = uvloop.run(part_scrapes(args.scrapes, args.routes))
    result = {
        "machine": machine(),
        "load_average": [load_before, load_average()],
        "requests": requests,
        "scrapes": scrapes,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    print("CPU per request (µs, medians of rounds):")
    for name, figures in requests.items():
        print(
            f"  {name:<24} off {figures['median_off_us']:>7}  on {figures['median_on_us']:>7}  "
            f"added {figures['median_added_us']:>6}"
        )
    print(f"scrape of {scrapes['series']} series ({scrapes['bytes']} bytes): render {scrapes['render_cpu_ms']} ms CPU")
    for name, figures in scrapes.items():
        if isinstance(figures, dict):
            print(f"  {name:<48} {figures}")
    print(f"load average before/after: {result['load_average']}; written to {RESULTS}")


if __name__ == "__main__":
    main()
