"""A service's replicas as the gateway sees them: found, balanced, ejected and taken back.

A service's address is one URL or a comma list. A URL whose host is a name
(`http://billing-headless:8000`) stands for every address the name resolves
to, resolved again every few seconds, so replicas come and go without a
restart; a URL with an IP address is one replica. Requests go round the
endpoints in turn. One that refuses a connection, or fails its health check
(`GET /readyz`), is ejected for a while that doubles with each failure in a
row; a passing check or the end of the ejection puts it back. When every
endpoint is ejected they are all tried in turn anyway: a guess beats a 503
without asking.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import ip_address
from urllib.parse import urlsplit

import aiohttp

from gateway.resolver import Resolver, SystemResolver

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ejection:
    """How long an endpoint is left out after failures in a row: base, twice that, and so on up to longest."""

    base_seconds: float = 1.0
    longest_seconds: float = 30.0

    def pause(self, failures: int) -> float:
        return float(min(self.longest_seconds, self.base_seconds * 2 ** min(failures - 1, 30)))


@dataclass(eq=False)
class Endpoint:
    """One replica's base URL and its record of failures."""

    url: str
    failures: int = 0
    ejected_until: float = 0.0


@dataclass(frozen=True)
class Target:
    """One configured URL: an address, or a name to resolve."""

    url: str
    scheme: str
    host: str
    port: int
    path: str

    @property
    def is_name(self) -> bool:
        try:
            ip_address(self.host)
        except ValueError:
            return True
        return False

    def at(self, address: str) -> str:
        host = f"[{address}]" if ":" in address else address
        return f"{self.scheme}://{host}:{self.port}{self.path}"


def parse_target(url: str) -> Target:
    parts = urlsplit(url.strip().rstrip("/"))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) URL such as http://billing:8000")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return Target(url.strip().rstrip("/"), parts.scheme, parts.hostname, port, parts.path)


class Upstream:
    """A service's endpoints, used in turn."""

    def __init__(
        self,
        name: str,
        urls: list[str],
        *,
        resolver: Resolver | None = None,
        ejection: Ejection | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.targets = [parse_target(url) for url in urls]
        self.resolver = resolver or SystemResolver()
        self.ejection = ejection or Ejection()
        self.clock = clock
        # Until a name resolves, its URL as written (the HTTP client then resolves it per connection).
        self._resolved: dict[Target, list[str]] = {t: [t.url] for t in self.targets}
        self.endpoints = [Endpoint(url) for url in dict.fromkeys(t.url for t in self.targets)]
        self._turn = 0

    @property
    def urls(self) -> list[str]:
        return [endpoint.url for endpoint in self.endpoints]

    @property
    def has_names(self) -> bool:
        return any(target.is_name for target in self.targets)

    def candidates(self) -> list[Endpoint]:
        """Endpoints to try for one request: those not ejected, starting with the next in turn, then the
        ejected ones (back soonest first); all in turn when every one is ejected."""
        endpoints = self.endpoints
        if not endpoints:
            return []
        self._turn += 1
        now = self.clock()
        ready = [e for e in endpoints if e.ejected_until <= now]
        if not ready or len(ready) == len(endpoints):
            start = self._turn % len(endpoints)
            return endpoints[start:] + endpoints[:start]
        ejected = sorted((e for e in endpoints if e.ejected_until > now), key=lambda e: e.ejected_until)
        start = self._turn % len(ready)
        return ready[start:] + ready[:start] + ejected

    def order(self) -> list[str]:
        """The candidates' URLs (the gateway's own calls to auth)."""
        return [endpoint.url for endpoint in self.candidates()]

    def failed(self, endpoint: Endpoint, reason: str) -> None:
        """Eject `endpoint` (again, for longer)."""
        endpoint.failures += 1
        pause = self.ejection.pause(endpoint.failures)
        endpoint.ejected_until = self.clock() + pause
        if endpoint.failures == 1:
            log.warning("%s endpoint %s ejected for %.1fs: %s", self.name, endpoint.url, pause, reason)

    def succeeded(self, endpoint: Endpoint) -> None:
        if endpoint.failures:
            endpoint.failures = 0
            endpoint.ejected_until = 0.0
            log.info("%s endpoint %s back", self.name, endpoint.url)

    async def refresh(self) -> None:
        """Resolve the names again; an endpoint that stays keeps its record, a name that fails keeps its
        last addresses."""
        for target in self.targets:
            if not target.is_name:
                continue
            try:
                addresses = await self.resolver.addresses(target.host)
            except OSError as exc:
                kept = self._resolved[target]
                log.warning("%s: %s did not resolve (%s); keeping %s", self.name, target.host, exc, kept)
                continue
            if addresses:
                self._resolved[target] = [target.at(address) for address in addresses]
        self._install(list(dict.fromkeys(url for target in self.targets for url in self._resolved[target])))

    def _install(self, urls: list[str]) -> None:
        known = {endpoint.url: endpoint for endpoint in self.endpoints}
        if list(known) == urls:
            return
        added, removed = [u for u in urls if u not in known], [u for u in known if u not in urls]
        self.endpoints = [known.get(url) or Endpoint(url) for url in urls]
        log.info("%s endpoints: %s (added %s, removed %s)", self.name, urls, added, removed)

    async def check_health(self, session: aiohttp.ClientSession, within: float) -> None:
        """`GET /readyz` of every endpoint: 200 within `within` seconds puts it back, anything else ejects it."""
        limit = aiohttp.ClientTimeout(total=within)

        async def check(endpoint: Endpoint) -> None:
            try:
                async with session.get(f"{endpoint.url}/readyz", timeout=limit) as response:
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                self.failed(endpoint, f"health check: {exc!r}")
                return
            if status == 200:
                self.succeeded(endpoint)
            else:
                self.failed(endpoint, f"health check answered {status}")

        await asyncio.gather(*(check(endpoint) for endpoint in self.endpoints))

    async def keep_resolving(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await self.refresh()
            except Exception:  # a resolver's surprise must not end the loop for good
                log.exception("%s: resolving failed", self.name)

    async def keep_checking(self, session: aiohttp.ClientSession, every: float, within: float) -> None:
        while True:
            await asyncio.sleep(every)
            await self.check_health(session, within)
