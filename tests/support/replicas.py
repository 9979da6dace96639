"""Service replicas as real OS processes (`tollgate serve`), and a stand-in OTLP collector that
tells them apart: what tests of several replicas need beyond `start_system`."""

from __future__ import annotations

import asyncio
import gzip
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.support.harness import TEST_INTERNAL_KEY, TEST_RETRY_DELAYS, TEST_SECRET_KEY, free_port_pair, wait_ready


class SpanCollector:
    """Receives OTLP/HTTP trace exports; each replica posts to a path of its own name.

    The services export spans when `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set, so
    which process served a request is visible without any code of theirs changing.
    """

    def __init__(self) -> None:
        self.server_spans: dict[str, Counter[str]] = {}
        self.consumer_spans: dict[str, Counter[str]] = {}
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        if request.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        export = ExportTraceServiceRequest()
        export.ParseFromString(body)
        replica = request.match_info["replica"]
        server = self.server_spans.setdefault(replica, Counter())
        consumer = self.consumer_spans.setdefault(replica, Counter())
        for resource in export.resource_spans:
            for scope in resource.scope_spans:
                for span in scope.spans:
                    if span.kind == Span.SpanKind.SPAN_KIND_SERVER:
                        server[span.name] += 1
                    elif span.kind == Span.SpanKind.SPAN_KIND_CONSUMER:
                        consumer[span.name] += 1
        return web.Response(status=200)

    def endpoint(self, replica: str) -> str:
        return f"{self.url}/{replica}/v1/traces"

    def environment(self, replica: str) -> dict[str, str]:
        """What makes `replica` export its spans here."""
        return {
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": self.endpoint(replica),
            "OTEL_BSP_SCHEDULE_DELAY": "200",
            # Nothing dropped under load: the counts are compared exactly.
            "OTEL_BSP_MAX_QUEUE_SIZE": "200000",
        }

    def served(self, span_name: str) -> dict[str, int]:
        """Server spans named `span_name` (e.g. `POST /api/billing/orders`) per replica."""
        return {replica: spans[span_name] for replica, spans in self.server_spans.items()}

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/{replica}/v1/traces", self._receive)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        port = free_port_pair()[0]
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@dataclass
class Replica:
    """`tollgate serve SERVICE --instance NAME` in its own process, logging to a file."""

    service: str
    name: str
    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=lambda: free_port_pair()[0])
    process: subprocess.Popen[bytes] | None = None
    # Any of 127.0.0.0/8: replicas of one service on one port, as pods behind one name.
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        command = [sys.executable, "-m", "tollgate.cli", "serve", self.service, "--port", str(self.port)]
        command += ["--host", self.host]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [*command, "--instance", self.name], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )

    async def wait_ready(self, timeout: float = 60.0) -> None:
        try:
            await wait_ready(self.url, timeout=timeout)
        except AssertionError:
            raise AssertionError(f"{self.name} not ready:\n{self.log_tail()}") from None

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL: no shutdown at all (a crash, the OOM killer)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    async def stop(self) -> None:
        """SIGTERM (uvicorn's graceful shutdown), SIGKILL if it takes more than 20 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(self.process.wait, 20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            await asyncio.to_thread(self.process.wait, 10)


def replica_environment(**values: str) -> dict[str, str]:
    """What `tollgate serve` reads: production mode with the tests' secrets and retry tiers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOLLGATE_", "OTEL_"))}
    env.update(
        {
            "TOLLGATE_ENV": "production",
            "TOLLGATE_SECRET_KEY": TEST_SECRET_KEY,
            "TOLLGATE_INTERNAL_KEY": TEST_INTERNAL_KEY,
            # The retry queues `reset_broker` deletes are named after these tiers.
            "TOLLGATE_BUS_RETRY_DELAYS": ",".join(str(d) for d in TEST_RETRY_DELAYS),
            "TOLLGATE_OUTBOX_POLL_INTERVAL": "0.5",
            "TOLLGATE_PAYMENT_PROVIDER": "sandbox",
            **values,
        }
    )
    return env


@asynccontextmanager
async def replicas(
    service: str,
    ports: list[int],
    *,
    log_dir: Path,
    collector: SpanCollector | None = None,
    **settings: str,
) -> AsyncIterator[list[Replica]]:
    """A replica of `service` on each of `ports`, ready; stopped at the end whatever happens."""
    started: list[Replica] = []
    try:
        for number, port in enumerate(ports, start=1):
            name = f"{service}-{number}"
            tracing = collector.environment(name) if collector is not None else {}
            env = replica_environment(**settings, **tracing)
            replica = Replica(service, name, env, log_dir / f"{name}.log", port)
            replica.start()
            started.append(replica)
        for replica in started:
            await replica.wait_ready()
        yield started
    finally:
        await asyncio.gather(*(replica.stop() for replica in started))
