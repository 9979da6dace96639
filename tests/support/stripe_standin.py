"""A local stand-in for the Stripe API, for the billing adapter's tests.

The Stripe SDK's base address points here. Checkout Sessions, which PyPI's
`localstripe` lacks, are answered by this module; every other path (the
PaymentIntents the sessions pay with) is passed to a real `localstripe`
process, so the adapter also talks to a Stripe imitation we did not write.
Webhooks are signed as Stripe documents it — `t=<time>,v1=<HMAC-SHA256 of
"<t>.<body>">` — computed here with hmac, not with the SDK under test.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import web

from tests.support.infrastructure import free_port

AUTHORIZATION = {"Authorization": "Bearer sk_test_standin"}
FORWARDED = ("authorization", "content-type", "idempotency-key", "stripe-version")


@dataclass
class Recorded:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]


@dataclass
class StripeStandIn:
    webhook_secret: str
    requests: list[Recorded] = field(default_factory=list)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    captured: list[tuple[bytes, str]] = field(default_factory=list)
    fail_with: int | None = None  # answer every session request with this status (Stripe down)
    _by_key: dict[str, str] = field(default_factory=dict)
    _process: subprocess.Popen[bytes] | None = None
    _runner: web.AppRunner | None = None
    _http: aiohttp.ClientSession | None = None
    url: str = ""
    localstripe_url: str = ""

    # --- life cycle -----------------------------------------------------
    async def start(self) -> None:
        port = free_port()
        binary = Path(sys.executable).parent / "localstripe"
        self._process = subprocess.Popen(
            [str(binary), "--port", str(port), "--from-scratch"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.localstripe_url = f"http://127.0.0.1:{port}"
        self._http = aiohttp.ClientSession()
        deadline = time.monotonic() + 30
        while True:
            try:
                async with self._http.get(f"{self.localstripe_url}/v1/customers", headers=AUTHORIZATION):
                    break
            except aiohttp.ClientError:
                if time.monotonic() > deadline or self._process.poll() is not None:
                    raise RuntimeError("localstripe did not start") from None
                await asyncio.sleep(0.1)
        app = web.Application()
        app.router.add_post("/v1/checkout/sessions", self._create_session)
        app.router.add_get("/v1/checkout/sessions/{id}", self._get_session)
        app.router.add_post("/_capture", self._capture)
        app.router.add_route("*", "/{tail:.*}", self._to_localstripe)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        own_port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", own_port).start()
        self.url = f"http://127.0.0.1:{own_port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._http is not None:
            await self._http.close()
        if self._process is not None:
            self._process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=10)

    # --- the Stripe API -------------------------------------------------
    async def _create_session(self, request: web.Request) -> web.Response:
        params = dict(parse_qsl(await request.text()))
        self._record(request, params)
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        key = request.headers.get("Idempotency-Key")
        if key and key in self._by_key:
            return web.json_response(self.sessions[self._by_key[key]])
        missing = [
            name for name in ("mode", "success_url", "line_items[0][price_data][unit_amount]") if name not in params
        ]
        if missing or params["mode"] != "payment":
            return _error(400, f"missing or wrong: {', '.join(missing) or 'mode'}")
        session_id = f"cs_test_{secrets.token_hex(12)}"
        amount = int(params["line_items[0][price_data][unit_amount]"]) * int(params.get("line_items[0][quantity]", "1"))
        self.sessions[session_id] = {
            "id": session_id,
            "object": "checkout.session",
            "mode": "payment",
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": amount,
            "currency": params["line_items[0][price_data][currency]"],
            "client_reference_id": params.get("client_reference_id"),
            "metadata": {k[9:-1]: v for k, v in params.items() if k.startswith("metadata[")},
            "payment_intent": None,
            "success_url": params["success_url"],
            "cancel_url": params.get("cancel_url"),
            "url": f"https://checkout.stripe.test/c/pay/{session_id}",
        }
        if key:
            self._by_key[key] = session_id
        return web.json_response(self.sessions[session_id])

    async def _get_session(self, request: web.Request) -> web.Response:
        self._record(request, dict(request.query))
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        session = self.sessions.get(request.match_info["id"])
        if session is None:
            return _error(404, "No such checkout.session")
        return web.json_response(session)

    async def _to_localstripe(self, request: web.Request) -> web.Response:
        body = await request.read()
        self._record(request, dict(parse_qsl(body.decode())))
        assert self._http is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() in FORWARDED}
        async with self._http.request(
            request.method, f"{self.localstripe_url}{request.rel_url}", data=body, headers=headers
        ) as answer:
            return web.Response(body=await answer.read(), status=answer.status, content_type="application/json")

    async def _capture(self, request: web.Request) -> web.Response:
        """Where localstripe delivers its own signed webhooks in the tests."""
        self.captured.append((await request.read(), request.headers.get("Stripe-Signature", "")))
        return web.json_response({"received": True})

    def _record(self, request: web.Request, params: dict[str, str]) -> None:
        headers = {k.lower(): v for k, v in request.headers.items() if k.lower() in FORWARDED}
        self.requests.append(Recorded(request.method, request.path, params, headers))

    def _refusal(self, request: web.Request) -> web.Response | None:
        if not request.headers.get("Authorization", "").startswith("Bearer sk_test_"):
            return _error(401, "Invalid API Key provided")
        if self.fail_with is not None:
            return _error(self.fail_with, "stand-in told to fail")
        return None

    # --- what the payer and Stripe do, driven by the tests --------------
    async def localstripe(self, method: str, path: str, **params: str) -> dict[str, Any]:
        assert self._http is not None
        async with self._http.request(
            method, f"{self.localstripe_url}{path}", data=params, headers=AUTHORIZATION
        ) as answer:
            text = await answer.text()
            assert answer.status == 200, text
            found: dict[str, Any] = json.loads(text) if text else {}
            return found

    async def pay(self, session_id: str) -> dict[str, Any]:
        """The payer pays by card: a confirmed PaymentIntent at localstripe, the session complete and paid."""
        session = self.sessions[session_id]
        intent = await self.localstripe(
            "POST",
            "/v1/payment_intents",
            amount=str(session["amount_total"]),
            currency=session["currency"],
            payment_method="pm_card_visa",
            confirm="true",
        )
        assert intent["status"] == "succeeded", intent
        session.update(status="complete", payment_status="paid", payment_intent=intent["id"])
        return self.event("checkout.session.completed", session_id)

    async def start_delayed(self, session_id: str) -> dict[str, Any]:
        """A delayed method (a bank debit): the session completes unpaid, its PaymentIntent still open."""
        session = self.sessions[session_id]
        intent = await self.localstripe(
            "POST",
            "/v1/payment_intents",
            amount=str(session["amount_total"]),
            currency=session["currency"],
            payment_method="pm_card_visa",
        )
        session.update(status="complete", payment_status="unpaid", payment_intent=intent["id"])
        return self.event("checkout.session.completed", session_id)

    async def fail_delayed(self, session_id: str) -> dict[str, Any]:
        session = self.sessions[session_id]
        await self.localstripe("POST", f"/v1/payment_intents/{session['payment_intent']}/cancel")
        return self.event("checkout.session.async_payment_failed", session_id)

    def expire(self, session_id: str) -> dict[str, Any]:
        self.sessions[session_id].update(status="expired")
        return self.event("checkout.session.expired", session_id)

    def event(self, event_type: str, session_id: str) -> dict[str, Any]:
        import stripe

        return {
            "id": f"evt_{secrets.token_hex(12)}",
            "object": "event",
            "api_version": stripe.api_version,
            "created": int(time.time()),
            "type": event_type,
            "data": {"object": dict(self.sessions[session_id])},
        }

    def signed(self, event: dict[str, Any], *, at: int | None = None) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(event).encode()
        timestamp = int(time.time()) if at is None else at
        mac = hmac.new(self.webhook_secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        return body, {"Stripe-Signature": f"t={timestamp},v1={mac}", "Content-Type": "application/json"}


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": {"type": "invalid_request_error", "message": message}}, status=status)
