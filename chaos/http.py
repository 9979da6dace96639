"""A client that retries as a real one does: on a 5xx or a broken connection, the same request again
(the same body, the same `Idempotency-Key`), backing off, until it gets an answer or the run gives up."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import aiohttp

from chaos.timeline import ERROR, OK, REFUSED, Timeline

# Above the gateway's upstream timeout (30 s): a slow upstream is the gateway's 504 to tell, not ours.
REQUEST_TIMEOUT = 35.0
FIRST_BACKOFF, MAX_BACKOFF = 0.2, 2.0


class GaveUp(Exception):
    """No answer before the run's deadline."""


class Unexpected(Exception):
    """An answer a correct system never gives this request (a 4xx that is not the right answer)."""

    def __init__(self, operation: str, answer: Answer) -> None:
        super().__init__(f"{operation}: {answer.status} {answer.text[:300]}")
        self.answer = answer


@dataclass
class Answer:
    status: int
    text: str
    location: str = ""

    def json(self) -> Any:
        return json.loads(self.text)

    @property
    def problem_type(self) -> str:
        """The problem's stable code (`duplicate_reference`), or "" for anything else."""
        try:
            body = self.json()
        except ValueError:
            return ""
        if not isinstance(body, dict):
            return ""
        return str(body.get("code") or str(body.get("type", "")).rsplit("/", 1)[-1])


@dataclass
class Http:
    session: aiohttp.ClientSession
    base_url: str
    timeline: Timeline
    rng: random.Random
    give_up_at: float = float("inf")  # run seconds

    async def call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        token: str = "",
        body: dict[str, Any] | None = None,
        form: dict[str, str] | None = None,
        idempotency_key: str = "",
        expect: Collection[int] = (200,),
        refusals: Collection[int] = (),
        after_retry: Collection[int] = (),
    ) -> Answer:
        """`expect`: what success answers; `refusals`: 4xx answers that are right (402 insufficient credits);
        `after_retry`: 4xx answers that are right only once an earlier attempt may have gone through (a 409 for
        what the lost attempt already did). Anything else 4xx raises `Unexpected`."""
        headers, data = _request_parts(token=token, idempotency_key=idempotency_key, body=body, form=form)
        backoff, retried = FIRST_BACKOFF, False
        while True:
            started = self.timeline.now()
            answer = await self._attempt(operation, started, method, path, data=data, headers=headers)
            if answer is not None and self._settles(operation, started, answer, expect, refusals, after_retry, retried):
                return answer
            retried = True
            if self.timeline.now() + backoff > self.give_up_at:
                self.timeline.unanswered[operation] += 1
                raise GaveUp(operation)
            await asyncio.sleep(backoff * (0.5 + self.rng.random()))
            backoff = min(backoff * 2, MAX_BACKOFF)

    async def _attempt(
        self, operation: str, started: float, method: str, path: str, *, data: Any, headers: dict[str, str]
    ) -> Answer | None:
        """One request: its answer, or None (recorded as an error) when none came."""
        try:
            async with self.session.request(
                method, self.base_url + path, data=data, headers=headers, allow_redirects=False
            ) as response:
                return Answer(response.status, await response.text(), response.headers.get("location", ""))
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.timeline.record(operation, started, ERROR, type(exc).__name__)
            return None

    def _settles(
        self,
        operation: str,
        started: float,
        answer: Answer,
        expect: Collection[int],
        refusals: Collection[int],
        after_retry: Collection[int],
        retried: bool,
    ) -> bool:
        """Whether `answer` is the call's last (recorded); False to try again; `Unexpected` for a wrong 4xx."""
        if answer.status in expect:
            self.timeline.record(operation, started, OK, str(answer.status))
            return True
        if answer.status in refusals or (retried and answer.status in after_retry):
            self.timeline.record(operation, started, REFUSED, f"{answer.status} {answer.problem_type}")
            return True
        self.timeline.record(operation, started, ERROR, str(answer.status))
        if answer.status < 500 and answer.status != 429:
            raise Unexpected(operation, answer)
        return False


def _request_parts(
    *, token: str, idempotency_key: str, body: dict[str, Any] | None, form: dict[str, str] | None
) -> tuple[dict[str, str], Any]:
    """The headers and the data of a request: a JSON `body`, else a `form`, else nothing."""
    headers: dict[str, str] = {}
    if token:
        headers["authorization"] = f"Bearer {token}"
    if idempotency_key:
        headers["idempotency-key"] = idempotency_key
    if body is not None:
        headers["content-type"] = "application/json"
        return headers, json.dumps(body)
    return headers, form


def new_session() -> aiohttp.ClientSession:
    # Idle connections closed before the servers' own 5 s keep-alive ends: a browser silently retries a request
    # that meets a connection the server just closed; this client would count it as an error.
    connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=3)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT))
