"""`/healthz` and `/readyz` of a service: alive, and able to serve its own requests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from tollgate_shared.db_availability import database_answers
from tollgate_shared.errors import problem_response
from tollgate_shared.outbox_store import unsent_count

if TYPE_CHECKING:
    from tollgate_shared.service import Runtime


def broker_state(started: bool, connected: bool) -> str:
    """What `/readyz` says of the broker: `connecting` (never yet), `connected` or `disconnected`."""
    if not started:
        return "connecting"
    return "connected" if connected else "disconnected"


def health_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Alive: the process answers."""
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        """Ready: the service can serve its own requests, i.e. its database answers.

        A broker outage is reported (`broker`), never a reason to be unready: the
        outbox keeps the events meanwhile (`outbox_pending` counts them).
        `consuming_paused` says the consumers stopped taking messages because a
        dependency (the database) was found away; they resume by themselves.
        From SIGTERM on: 503 `shutting_down`.
        """
        runtime: Runtime = request.app.state.runtime
        details: dict[str, Any] = {
            "broker": broker_state(runtime.bus_started.is_set(), runtime.bus.is_ready()),
            "consuming_paused": bool(runtime.bus.paused_for),
        }
        if runtime.shutdown.shutting_down:
            return problem_response(503, "shutting_down", "Shutting down", **details)
        database = await database_answers(runtime.engine)
        details["outbox_pending"] = await unsent_count(runtime.session_factory, runtime.tables) if database else None
        checks = {"database": database}
        if database:
            return JSONResponse({"status": "ready", "checks": checks, **details})
        return problem_response(503, "not_ready", "Not ready", checks=checks, **details)

    return router
