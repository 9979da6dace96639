"""One customer account as its users drive it through the gateway: sign up and enrol TOTP, place orders,
top up offline (decided by the finance service) and online (the sandbox checkout page), pay what awaits.
It keeps what it was told, which the checks hold the system to."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from chaos.http import Http
from tests.support.totp_reference import totp

SUCCEEDING_CARD = "4242424242424242"
PROFILE = {"legal_name": "Chaos Private Limited", "address": "1 MG Road", "state": "Karnataka", "gstin": None}
UNIT_PRICES = ("100.00", "250.00", "400.00")
MODES = ("neft", "imps", "rtgs")  # all approved by the example rules up to 10,000.00
TOTP_STEP = 30


def minor(amount: str) -> int:
    return int(Decimal(amount) * 100)


@dataclass
class Order:
    total_minor: int
    status: str  # as last told: "paid" or "awaiting_payment"


@dataclass
class Transfer:
    """An offline top-up: one bank transfer, however many times the client had to send its details."""

    amount_minor: int
    submission_id: str = ""  # the id the 202 named ("" when only a retry's 409 answered)
    status: str = "pending_approval"  # as the account's list shows it at the end


@dataclass
class OnlinePayment:
    amount_minor: int
    paid_at_checkout: bool = False
    status: str = "pending"


@dataclass
class Customer:
    """`repeat`: the share of top-ups and payments the client sends twice, as when the first answer was lost
    (the same body and `Idempotency-Key`, up to 3 s later: often after finance approved the first)."""

    http: Http
    number: int
    rng: random.Random
    repeat: float = 0.25
    email: str = field(default_factory=lambda: f"chaos-{uuid.uuid4().hex[:12]}@example.com")
    password: str = field(default_factory=lambda: uuid.uuid4().hex)
    token: str = ""
    account_id: str = ""
    secret: str = ""
    last_totp_step: int = -1
    orders: dict[str, Order] = field(default_factory=dict)
    transfers: dict[str, Transfer] = field(default_factory=dict)  # by reference
    payments: dict[str, OnlinePayment] = field(default_factory=dict)  # by payment id
    repeated: Counter[str] = field(default_factory=Counter)  # requests sent again on purpose, by operation
    # ... answered as a new one (a second submission or payment) instead of the first answer again
    repeated_anew: Counter[str] = field(default_factory=Counter)

    # --- signing up --------------------------------------------------------------------------
    async def sign_up(self) -> None:
        """Create the account, enforce TOTP for it, and log in through enrolment (setup, verify)."""
        body = {"account_name": f"Chaos {self.number}", "email": self.email, "password": self.password}
        # A retry after a lost 201 finds the email taken: the account exists, which is what was wanted.
        created = await self.http.call("sign-up", "POST", "/api/accounts", body=body, expect=(201,), after_retry=(409,))
        if created.status == 201:
            self.account_id = created.json()["account"]["id"]
        await self._log_in()
        if not self.account_id:
            me = await self.http.call("me", "GET", "/api/auth/me", token=self.token)
            self.account_id = me.json()["account_id"]
        await self.http.call("profile", "PUT", "/api/billing/profile", token=self.token, body=PROFILE)
        policy = {"enforce_totp": True}
        await self.http.call("security", "PUT", "/api/account/security", token=self.token, body=policy)
        await self._log_in()

    async def _log_in(self) -> None:
        """Log in, enrolling or answering TOTP as asked; a code is never sent twice (it would be a replay)."""
        credentials = {"email": self.email, "password": self.password}
        while True:
            answer = (await self.http.call("login", "POST", "/api/auth/login", body=credentials)).json()
            if answer["status"] == "ok":
                self.token = answer["access_token"]
                return
            challenge = answer["challenge"]
            if answer["status"] == "totp_setup_required":
                setup = await self.http.call(
                    "totp-setup", "POST", "/api/auth/totp/setup", body={"challenge": challenge}, after_retry=(409,)
                )
                if setup.status != 200:
                    continue  # enrolled by an attempt whose answer was lost: log in with a code
                self.secret = setup.json()["secret"]
            if not self.secret:
                raise RuntimeError(f"{self.email} is enrolled but the client never saw the secret")
            code = await self._fresh_code()
            # A 401 after a retry: the lost attempt used the code (or the challenge); log in again.
            verified = await self.http.call(
                "totp-verify",
                "POST",
                "/api/auth/totp/verify",
                body={"challenge": challenge, "code": code},
                after_retry=(401,),
            )
            if verified.status == 200:
                self.token = verified.json()["access_token"]
                return

    async def _fresh_code(self) -> str:
        """The code of a 30 s step not used yet, at least 3 s before the step ends."""
        while True:
            now = time.time()
            step = int(now // TOTP_STEP)
            left = TOTP_STEP - now % TOTP_STEP
            if step > self.last_totp_step and left >= 3:
                self.last_totp_step = step
                return totp(self.secret, now)
            await asyncio.sleep(left + 0.1)

    # --- spending and topping up -------------------------------------------------------------------
    async def place_order(self, unit_price: str, quantity: int) -> None:
        """Order one certificate line; the order id is the client's, so a retry places it once."""
        order_id = f"chaos-{uuid.uuid4().hex}"
        item = {"description": "DV SSL certificate, 1 year", "sac": "998319", "quantity": quantity}
        body = {"order_id": order_id, "items": [{**item, "unit_price": unit_price}]}
        placed = (
            await self.http.call("order", "POST", "/api/billing/orders", token=self.token, body=body, expect=(201,))
        ).json()
        self.orders[order_id] = Order(minor(placed["total"]), placed["status"])

    async def pay_awaiting(self, order_id: str) -> None:
        """Pay an awaiting order from credits; 402 when they do not cover it (it keeps awaiting)."""
        key = str(uuid.uuid4())
        path = f"/api/billing/orders/{order_id}/pay"
        paid = await self.http.call(
            "pay", "POST", path, token=self.token, body={"method": "credits"}, idempotency_key=key, refusals=(402,)
        )
        if await self._repeating("pay"):
            paid = await self.http.call(
                "pay", "POST", path, token=self.token, body={"method": "credits"}, idempotency_key=key, refusals=(402,)
            )
        if paid.status == 200:
            self.orders[order_id].status = paid.json()["status"]

    async def top_up_offline(self, amount: str, mode: str, reference: str) -> None:
        """Send the details of one transfer. A retry sends the same details with the same key, so the only
        right answer is a 202, the first one's again when an earlier attempt got through: a 409
        `duplicate_reference` there would say the key was not honoured (the reference caught it instead)."""
        body = {"amount": amount, "mode": mode, "reference": reference, "paid_on": datetime.now(UTC).date().isoformat()}
        transfer = self.transfers.setdefault(reference, Transfer(minor(amount)))
        key = str(uuid.uuid4())
        path = "/api/billing/credits/offline"
        submitted = await self.http.call(
            "offline", "POST", path, token=self.token, body=body, idempotency_key=key, expect=(202,)
        )
        if submitted.status == 202:
            transfer.submission_id = submitted.json()["id"]
        if await self._repeating("offline"):
            # Right: the first answer again (202, the same id); any other is counted or unexpected.
            again = await self.http.call(
                "offline", "POST", path, token=self.token, body=body, idempotency_key=key, expect=(202,)
            )
            if again.status == 202 and again.json()["id"] != transfer.submission_id:
                self.repeated_anew["offline"] += 1

    async def top_up_online(self, amount: str) -> None:
        """Start a payment, pay it on the sandbox checkout page, and see it credited (recheck if not)."""
        key = str(uuid.uuid4())
        path = "/api/billing/credits/online"
        body = {"amount": amount}
        started = await self.http.call(
            "online", "POST", path, token=self.token, body=body, idempotency_key=key, expect=(201,)
        )
        if await self._repeating("online"):
            # The client lost the first answer: it pays what the second one names (the same payment, when right).
            first = started.json()["payment_id"]
            started = await self.http.call(
                "online", "POST", path, token=self.token, body=body, idempotency_key=key, expect=(201,)
            )
            if started.json()["payment_id"] != first:
                self.repeated_anew["online"] += 1
        payment_id, checkout = started.json()["payment_id"], started.json()["redirect_url"]
        payment = self.payments[payment_id] = OnlinePayment(minor(amount))
        # The page answers 303 back to the portal; a retry after a lost 303 finds the checkout closed (409).
        card = {"card_number": SUCCEEDING_CARD}
        await self.http.call("checkout", "POST", checkout, form=card, expect=(303,), after_retry=(409,))
        payment.paid_at_checkout = True
        await self.follow_payment(payment_id)

    async def _repeating(self, operation: str) -> bool:
        """Whether to send this request again as if its answer was lost (then after a pause, here)."""
        if self.rng.random() >= self.repeat:
            return False
        self.repeated[operation] += 1
        await asyncio.sleep(self.rng.uniform(0.2, 3.0))
        return True

    async def follow_payment(self, payment_id: str) -> None:
        """What the portal shows after the checkout; "Recheck Payment Status" while it still says pending."""
        shown = await self.http.call("payment", "GET", f"/api/billing/payments/{payment_id}", token=self.token)
        self.payments[payment_id].status = shown.json()["status"]
        if self.payments[payment_id].status == "pending":
            path = f"/api/billing/payments/{payment_id}/recheck"
            rechecked = await self.http.call("recheck", "POST", path, token=self.token)
            self.payments[payment_id].status = rechecked.json()["status"]

    async def look_around(self) -> None:
        """What a user reads between payments: the balance and the invoices."""
        await self.http.call("balance", "GET", "/api/billing/balance", token=self.token)
        await self.http.call("invoices", "GET", "/api/invoices?page_size=5", token=self.token)

    # --- at the end ------------------------------------------------------------------------------------
    async def settle(self) -> None:
        """After the load: recheck payments that still show pending, and read each transfer's decision."""
        for payment_id, payment in self.payments.items():
            if payment.paid_at_checkout and payment.status == "pending":
                await self.follow_payment(payment_id)
        page, seen = 1, 0
        while True:
            path = f"/api/billing/offline-payments?page={page}&page_size=100"
            listed = (await self.http.call("offline-list", "GET", path, token=self.token)).json()
            for item in listed["items"]:
                transfer = self.transfers.get(item["reference"])
                # Approved once for the transfer is what the client expects, however many rows it has.
                if transfer is not None and transfer.status != "approved":
                    transfer.status = item["status"]
            seen += len(listed["items"])
            if seen >= listed["total"] or not listed["items"]:
                return
            page += 1

    def told_balance_minor(self) -> int:
        """What the client was told its balance must be: credits acknowledged minus orders paid."""
        online = sum(p.amount_minor for p in self.payments.values() if p.status == "succeeded")
        offline = sum(t.amount_minor for t in self.transfers.values() if t.status == "approved")
        spent = sum(o.total_minor for o in self.orders.values() if o.status == "paid")
        return online + offline - spent
