"""The gateway's pool of connections to the services, each with a bounded lifetime.

aiohttp's `keepalive_timeout` bounds how long a connection sits idle, never
how long it lives (aio-libs/aiohttp#4948, #2647): a busy gateway would keep the
connections it opened first for ever, and behind one address that balances
per connection (a Kubernetes ClusterIP Service) a new replica would never get
its share. Here a connection older than its lifetime is closed when its
answer has been read, instead of going back to the pool.
"""

from __future__ import annotations

import random
import time
import weakref

import aiohttp
from aiohttp.client_proto import ResponseHandler
from aiohttp.client_reqrep import ConnectionKey

# Below uvicorn's 5 s keep-alive: the gateway never picks a connection the service is closing at that moment
# (a POST sent on one would fail, and is not retried).
IDLE_SECONDS = 4.0


class BoundedLifetimeConnector(aiohttp.TCPConnector):
    """A TCPConnector whose connections are reused for `lifetime` seconds at most (less up to a tenth, so
    that connections opened together do not all end together)."""

    def __init__(self, *, lifetime: float) -> None:
        # No limit on connections: the services' own limits (and the timeouts) bound the load.
        super().__init__(limit=0, keepalive_timeout=IDLE_SECONDS)
        self._lifetime = lifetime
        self._ends: weakref.WeakKeyDictionary[ResponseHandler, float] = weakref.WeakKeyDictionary()

    def _release(self, key: ConnectionKey, protocol: ResponseHandler, *, should_close: bool = False) -> None:
        # Only aiohttp's private hooks see a connection's whole life; this one sees every answer's end.
        # The clock starts at the end of the connection's first answer.
        now = time.monotonic()
        end = self._ends.get(protocol)
        if end is None:
            end = self._ends[protocol] = now + self._lifetime * random.uniform(0.9, 1.0)  # noqa: S311 (not a secret)
        super()._release(key, protocol, should_close=should_close or now >= end)
