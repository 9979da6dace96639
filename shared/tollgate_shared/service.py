"""The common runtime of a service: what `create_app()` of each service builds.

A service describes itself as a `ServiceDefinition` (its tables, routes and the
events it consumes); `create_service_app` wires the engine, the bus, the outbox
relay and the consumers in the app's lifespan, never at import, so tests build
the same app with other adapters. The lifespan's end is the second half of a
graceful shutdown (`lifecycle.py`): consumers drained, outbox flushed, then
everything closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tollgate_shared.batch_handler import Route, as_batch_handler
from tollgate_shared.bus import Bus, Subscription
from tollgate_shared.bus.inprocess import InProcessBroker, InProcessBus
from tollgate_shared.bus.publisher_mark import PublisherMarks
from tollgate_shared.bus.rabbitmq import RabbitMQBus
from tollgate_shared.control_characters import ControlCharacterGuard
from tollgate_shared.db import create_engine
from tollgate_shared.edge import EdgeContext, EdgeSignatureMiddleware
from tollgate_shared.errors import DomainError, install_problem_handlers
from tollgate_shared.health import health_router
from tollgate_shared.inbox import DATABASE, MAX_TRANSACTIONS, inbox_handler, only_from_publisher
from tollgate_shared.lifecycle import Shutdown
from tollgate_shared.messaging_tables import MessagingTables
from tollgate_shared.metrics.http import HttpMetrics
from tollgate_shared.metrics.runtime import watch_service
from tollgate_shared.metrics.scrape import Reader
from tollgate_shared.no_store import NoStoreMiddleware
from tollgate_shared.openapi import describe_problems
from tollgate_shared.outbox import WAKE_INFO_KEY, outbox_session_info
from tollgate_shared.outbox_relay import OutboxRelay
from tollgate_shared.settings import ServiceSettings
from tollgate_shared.telemetry import FASTAPI_NATIVE_TELEMETRY_OFF, instrument_app

log = logging.getLogger(__name__)

Consumers = Mapping[str, Route]
"""Queue name (`<service>.<purpose>`) → event type → handler, or → one `BatchHandler` naming the types it takes."""


@dataclass(frozen=True)
class ServiceDefinition:
    name: str
    metadata: MetaData
    tables: MessagingTables
    routers: Sequence[APIRouter]
    consumers: Consumers = field(default_factory=dict)
    api_prefix: str = "/api"
    description: str = ""
    # Durable queues the service fills for another consumer: queue → routing keys.
    outbound_queues: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Queues whose messages count only from one broker user: queue → user.
    trusted_publishers: Mapping[str, str] = field(default_factory=dict)
    # Gauges read from the service's database when metrics are scraped: name → reader (in a session of its own).
    database_gauges: Mapping[str, Callable[[AsyncSession], Awaitable[None]]] = field(default_factory=dict)
    # Transactions each consumer runs at once (the inbox's batches), when not `inbox.MAX_TRANSACTIONS`.
    transactions_at_once: int | None = None


@dataclass
class Runtime:
    """Everything a running service holds; `app.state.runtime`."""

    settings: ServiceSettings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    bus: Bus
    relay: OutboxRelay
    tables: MessagingTables
    shutdown: Shutdown
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    bus_started: asyncio.Event = field(default_factory=asyncio.Event)
    # Run at shutdown, newest first: what `on_startup` opened (HTTP sessions, …).
    cleanups: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


def build_bus(settings: ServiceSettings, *, broker: InProcessBroker | None, instance: str) -> Bus:
    """RabbitMQ when `TOLLGATE_AMQP_URL` is set, else the in-process broker of this process."""
    if settings.amqp_url:
        return RabbitMQBus(
            settings.amqp_url,
            connection_name=instance,
            prefetch=settings.bus_prefetch,
            delivery_limit=settings.bus_delivery_limit,
            retry_delays=settings.retry_delays,
            publisher_marks=PublisherMarks(settings.internal_key.get_secret_value().encode()),
            outage_probe_max=settings.bus_outage_probe_max_seconds,
        )
    if broker is None:
        raise ValueError("the in-process bus needs the process's broker (or set TOLLGATE_AMQP_URL)")
    return InProcessBus(broker, retry_delays=settings.retry_delays)


async def start_bus_until_up(bus: Bus, started: asyncio.Event) -> None:
    """Connect the bus, retrying with backoff; the service serves (not ready) meanwhile."""
    delay = 0.5
    while True:
        try:
            await bus.start()
        except Exception as exc:
            log.warning("bus not reachable yet (%s); retrying in %.1fs", exc, delay)
            with contextlib.suppress(Exception):
                await bus.close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
            continue
        started.set()
        return


def create_service_app(
    definition: ServiceDefinition,
    settings: ServiceSettings,
    *,
    broker: InProcessBroker | None = None,
    bus: Bus | None = None,
    instance: str | None = None,
    on_startup: Callable[[FastAPI, Runtime], Awaitable[None]] | None = None,
    shutdown: Shutdown | None = None,
) -> FastAPI:
    """The FastAPI app of a service, with its runtime built in the lifespan.

    `shutdown` is the switch the server turns on SIGTERM (`tollgate serve`); `app.state.shutdown`.
    """
    instance_name = instance or definition.name
    switch = shutdown or Shutdown(settings.shutdown_grace_seconds)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.effective_database_url)
        session_factory = async_sessionmaker(
            engine, expire_on_commit=False, info=outbox_session_info(definition.tables, definition.name)
        )
        the_bus = bus or build_bus(settings, broker=broker, instance=instance_name)
        relay = OutboxRelay(
            session_factory,
            definition.tables,
            the_bus,
            batch_size=settings.outbox_batch_size,
            poll_interval=settings.outbox_poll_interval,
            inbox_retention=timedelta(days=settings.inbox_retention_days),
            service=definition.name,
        )
        session_factory.kw["info"][WAKE_INFO_KEY] = relay.wake
        for queue, route in definition.consumers.items():
            handler = inbox_handler(
                queue,
                route,
                session_factory,
                definition.tables,
                max_transactions=definition.transactions_at_once or MAX_TRANSACTIONS,
            )
            if queue in definition.trusted_publishers:
                handler = only_from_publisher(definition.trusted_publishers[queue], handler)
            the_bus.subscribe(Subscription(queue, as_batch_handler(route).event_types, handler, depends_on=DATABASE))
        for queue, keys in definition.outbound_queues.items():
            the_bus.declare(queue, keys)
        runtime = Runtime(settings, engine, session_factory, the_bus, relay, definition.tables, switch)
        app.state.runtime = runtime
        if on_startup is not None:
            await on_startup(app, runtime)
        bus_task = asyncio.create_task(start_bus_until_up(the_bus, runtime.bus_started), name=f"{instance_name}-bus")
        relay_task = asyncio.create_task(relay.run(), name=f"{instance_name}-outbox-relay")
        # Waits for the switch: consumers stop at the signal, while HTTP drains.
        consumers_task = asyncio.create_task(stop_consuming_at_shutdown(runtime), name=f"{instance_name}-drain")
        runtime.tasks += [bus_task, relay_task, consumers_task]
        stop_watching = watch_service(
            definition.name,
            bus=the_bus,
            work_queues=[*definition.consumers, *definition.outbound_queues],
            sessions=session_factory,
            tables=definition.tables,
            database_readers=[
                (name, _in_session(session_factory, read)) for name, read in definition.database_gauges.items()
            ],
        )
        try:
            yield
        finally:
            switch.begin()  # already turned by a signal; not when a test stops the server
            stop_watching()
            await shut_down(runtime, bus_task=bus_task, relay_task=relay_task, consumers_task=consumers_task)

    app = FastAPI(
        title=f"Tollgate {definition.name}",
        description=definition.description,
        version="0.1.0",
        lifespan=lifespan,
        openapi_url=f"{definition.api_prefix}/openapi.json",
        docs_url=None,
        redoc_url=None,
        telemetry=FASTAPI_NATIVE_TELEMETRY_OFF,
    )
    app.state.shutdown = switch
    install_problem_handlers(app)
    describe_problems(app)
    # Middleware added last runs first: metrics, no-store, the edge's signature, the trace, the guard.
    app.add_middleware(
        ControlCharacterGuard, routes=[route for router in definition.routers for route in router.routes]
    )
    instrument_app(app)
    app.add_middleware(EdgeSignatureMiddleware, key=settings.internal_key.get_secret_value().encode())
    app.add_middleware(NoStoreMiddleware)  # the edge's refusals too
    # Outermost, so every answer is timed; the routes list fills as the routers are included below.
    app.add_middleware(HttpMetrics, service=definition.name, routes=app.router.routes)
    app.include_router(health_router())
    for router in definition.routers:
        app.include_router(router)
    return app


async def stop_consuming_at_shutdown(runtime: Runtime) -> None:
    """At the signal: basic.cancel every consumer and wait for the messages in hand."""
    await runtime.shutdown.began()
    left = await runtime.bus.stop_consuming(within=runtime.shutdown.drain_left())
    log.info("shutting down: consumers cancelled, %d messages left unsettled", left)


async def shut_down(
    runtime: Runtime,
    *,
    bus_task: asyncio.Task[None],
    relay_task: asyncio.Task[None],
    consumers_task: asyncio.Task[None],
) -> None:
    """After HTTP drained: the consumers' drain finished, the outbox flushed, then everything closed."""
    shutdown = runtime.shutdown
    if not runtime.bus_started.is_set():
        bus_task.cancel()  # never connected: nothing to drain, no use connecting now
    await asyncio.wait({consumers_task}, timeout=shutdown.drain_left())
    runtime.relay.stop()
    if not runtime.bus.is_ready():
        # A cycle under way waits for the broker, which is away: only the deadline would end it.
        # Its rows stay in the outbox for the next relay of this service, as a flush would leave them.
        relay_task.cancel()
    await asyncio.wait({relay_task}, timeout=shutdown.flush_left())
    if relay_task.done() and runtime.bus.is_ready():
        flushed = await runtime.relay.flush(within=shutdown.flush_left())
        log.info("shutting down: outbox flushed (%d events published)", flushed)
    for task in runtime.tasks:
        task.cancel()
    await asyncio.gather(*runtime.tasks, return_exceptions=True)
    for cleanup in reversed(runtime.cleanups):
        await cleanup()
    await runtime.bus.close()
    await runtime.engine.dispose()


def _in_session(sessions: async_sessionmaker[AsyncSession], read: Callable[[AsyncSession], Awaitable[None]]) -> Reader:
    async def run() -> None:
        async with sessions() as session:
            await read(session)

    return run


# --- dependencies routes use -------------------------------------------------
# All `async def`: FastAPI runs a plain `def` dependency in its threadpool, a
# thread hop per request for what is an attribute read.
async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session in a transaction that commits when the route returns, or refuses with a `DomainError` that
    `keeps_changes`; any other error rolls it back."""
    runtime: Runtime = request.app.state.runtime
    async with runtime.session_factory() as session, session.begin():
        try:
            yield session
        except DomainError as refusal:
            if refusal.keeps_changes:
                await session.commit()
            raise


async def get_edge(request: Request) -> EdgeContext:
    edge: EdgeContext = request.state.edge
    return edge


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
# scope="function": the transaction commits before the answer is sent, so a client
# never holds a 200 for a change that is not yet (or never) committed.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
EdgeDep = Annotated[EdgeContext, Depends(get_edge)]
