"""The management port: `GET /metrics` in Prometheus's text format, and nothing else.

An aiohttp server on the process's own event loop, not prometheus_client's
`start_http_server` (a thread of its own): the gauges read at scrape time
query the database and the broker through the services' own engines and
connections, which live on this loop. Only the rendering runs in a worker
thread.
It never shares a port with the API: the gateway cannot route to it, and a
service's API port does not answer `/metrics`. docs/decisions.md weighs it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from tollgate_shared.metrics.scrape import SCRAPE_READERS
from tollgate_shared.settings import SettingsError

PATH = "/metrics"


class MetricsPortUnavailable(SettingsError):
    """The management port cannot be listened on (in use, or an address this machine lacks)."""


async def scrape(_request: web.Request) -> web.Response:
    await SCRAPE_READERS.read_due()
    # Rendered in a worker thread: it is pure Python holding the GIL, but the interpreter
    # hands the loop a turn every few ms instead of stalling it for the whole render
    # (docs/decisions.md, Common library).
    body = await asyncio.to_thread(generate_latest, REGISTRY)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4})


@contextlib.asynccontextmanager
async def metrics_listener(host: str, port: int) -> AsyncIterator[str]:
    """Serve `/metrics` on `host:port` while the block runs; yields its URL."""
    app = web.Application()
    app.router.add_get(PATH, scrape)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, reuse_address=True)
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise MetricsPortUnavailable(
            f"cannot serve metrics on {host}:{port} ({exc.strerror or exc}); "
            "set TOLLGATE_METRICS_PORT (or --metrics-port) to a free port and TOLLGATE_METRICS_HOST to an address "
            "of this machine"
        ) from None
    try:
        bound = runner.addresses[0][1] if runner.addresses else port  # the port chosen when `port` is 0
        yield f"http://{_url_host(host)}:{bound}{PATH}"
    finally:
        await runner.cleanup()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
