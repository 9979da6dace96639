"""The sandbox provider's hosted checkout page (DESIGN §7), public at the gateway under /sandbox/checkout/.

The page stands where Stripe's would: the payer enters a card number, the
sandbox charges it, notifies billing through the signed webhook intake every
provider uses, and sends the payer back to the UI.
"""

from __future__ import annotations

import contextlib
import html
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from billing.adapters.sandbox_provider import (
    DECLINED_CARD,
    SUCCEEDING_CARD,
    SandboxCheckout,
    SandboxProvider,
    UnknownCard,
)
from billing.api.deps import ProviderDep, SettingsDep
from billing.domain.ledger import BalanceLimit
from billing.domain.payments import PaymentProvider
from billing.use_cases.settle_payment import receive_webhook
from tollgate_shared.money import format_money, from_minor
from tollgate_shared.service import RuntimeDep

router = APIRouter(prefix="/sandbox/checkout", tags=["sandbox"], include_in_schema=False)

MAX_FORM_BYTES = 4096
# The page stands alone: its own inline style, forms posting back to itself, never framed.
PAGE_HEADERS = {
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}


def sandbox_of(provider: PaymentProvider) -> SandboxProvider | None:
    return provider if isinstance(provider, SandboxProvider) else None


@router.get("/{token}", response_class=HTMLResponse)
async def checkout_page(token: str, provider: ProviderDep) -> Response:
    sandbox = sandbox_of(provider)
    session = await sandbox.checkout(token) if sandbox else None
    if session is None:
        return page("Checkout not found", "<p>This checkout link is not valid.</p>", status=404)
    return page_for(session, token)


@router.post("/{token}", response_class=HTMLResponse)
async def pay(
    token: str, request: Request, provider: ProviderDep, runtime: RuntimeDep, settings: SettingsDep
) -> Response:
    sandbox = sandbox_of(provider)
    session = await sandbox.checkout(token) if sandbox else None
    if sandbox is None or session is None:
        return page("Checkout not found", "<p>This checkout link is not valid.</p>", status=404)
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return page_for(session, token, error="The form is too large.", status=413)
    card = parse_qs(body.decode("utf-8", "replace")).get("card_number", [""])[0]
    try:
        notification = await sandbox.pay(token, card)
    except UnknownCard:
        error = f"Use the test card {SUCCEEDING_CARD} (succeeds) or {DECLINED_CARD} (declined)."
        return page_for(session, token, error=error, status=422)
    if notification is None:
        return page("Checkout closed", "<p>This checkout is already paid, declined or expired.</p>", status=409)
    # The same signed intake a real provider's webhook reaches, signature check included. When
    # billing refuses it (a balance with no room), the payer still goes back, as from a real
    # provider: the money was taken, the payment shows pending, and a recheck settles it later.
    with contextlib.suppress(BalanceLimit):
        await receive_webhook(runtime.session_factory, sandbox, notification.payload, notification.signature, settings)
    return RedirectResponse(notification.return_url, status_code=303)


def page_for(session: SandboxCheckout, token: str, *, error: str = "", status: int = 200) -> HTMLResponse:
    amount = f"{html.escape(session.currency)} {format_money(from_minor(session.amount_minor))}"
    if session.status != "open":
        return page("Checkout closed", f"<p>This checkout of {amount} is {html.escape(session.status)}.</p>", status)
    alert = f'<p role="alert" class="error" id="card-error">{html.escape(error)}</p>' if error else ""
    described = ' aria-describedby="card-error" aria-invalid="true"' if error else ""
    body = f"""<p>Amount to pay: <strong>{amount}</strong></p>
<form method="post" action="/sandbox/checkout/{html.escape(token)}">
<label for="card_number">Card number</label>
<input id="card_number" name="card_number" inputmode="numeric" autocomplete="cc-number" required{described}>
{alert}<button type="submit">Pay {amount}</button>
</form>
<p class="hint">Sandbox: {SUCCEEDING_CARD} succeeds, {DECLINED_CARD} is declined.</p>
<p><a href="{html.escape(session.cancel_url)}">Cancel and go back</a></p>"""
    return page("Sandbox checkout", body, status)


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    document = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} · Tollgate sandbox</title>
<style>*{{box-sizing:border-box}}
body{{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem}}
label,input,button{{display:block;width:100%;font-size:1rem;margin:.4rem 0}}input,button{{padding:.6rem}}
.error{{color:#b00020}}.hint{{color:#555;font-size:.9rem}}</style></head>
<body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>"""
    return HTMLResponse(document, status_code=status, headers=PAGE_HEADERS)
