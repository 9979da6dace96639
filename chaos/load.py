"""The mixed load: customers signing up all along, each in a closed loop of orders, payments, top-ups
and reads with a think time, until told to stop."""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from dataclasses import dataclass, field

from chaos.clients import MODES, UNIT_PRICES, Customer
from chaos.http import GaveUp, Http, Unexpected

# How often each step is chosen (paying only while an order awaits).
WEIGHTS = {"order": 40, "pay": 15, "offline": 12, "online": 12, "look": 15}


@dataclass
class Load:
    http: Http
    seed: int
    repeat: float = 0.25  # see Customer.repeat
    customers: list[Customer] = field(default_factory=list)
    surprises: list[str] = field(default_factory=list)  # unexpected answers, one line each
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def run(self, stop: asyncio.Event, *, clients: int, sign_up_every: float) -> None:
        """`clients` customers at once, then one more every `sign_up_every` seconds, until `stop`."""
        for _ in range(clients):
            self._add(stop)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), sign_up_every)
            if not stop.is_set():
                self._add(stop)
        await asyncio.gather(*self._tasks)

    def _add(self, stop: asyncio.Event) -> None:
        number = len(self.customers) + 1
        rng = random.Random(f"{self.seed}-{number}")
        customer = Customer(self.http, number, rng, self.repeat)
        self.customers.append(customer)
        self._tasks.append(asyncio.create_task(self._drive(customer, rng, stop)))

    async def _drive(self, customer: Customer, rng: random.Random, stop: asyncio.Event) -> None:
        try:
            await customer.sign_up()
        except (GaveUp, Unexpected, KeyError, ValueError) as exc:
            self.surprises.append(f"sign-up of customer {customer.number}: {exc!r}")
            return
        while not stop.is_set():
            try:
                await self._step(customer, rng)
            except Unexpected as exc:
                self.surprises.append(f"customer {customer.number}: {exc}")
            except GaveUp:
                return
            except (KeyError, ValueError, TypeError) as exc:  # an answer without what it always carries
                self.surprises.append(f"customer {customer.number}: an answer the client cannot read: {exc!r}")
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), rng.uniform(0.2, 0.6))

    async def _step(self, customer: Customer, rng: random.Random) -> None:
        awaiting = [order_id for order_id, order in customer.orders.items() if order.status == "awaiting_payment"]
        weights = {**WEIGHTS, "pay": WEIGHTS["pay"] if awaiting else 0}
        step = rng.choices(list(weights), weights=list(weights.values()))[0]
        if step == "order":
            await customer.place_order(rng.choice(UNIT_PRICES), rng.randint(1, 2))
        elif step == "pay":
            await customer.pay_awaiting(rng.choice(awaiting))
        elif step == "offline":
            amount = f"{rng.randrange(2000, 9001, 250)}.00"
            await customer.top_up_offline(amount, rng.choice(MODES), f"UTR{uuid.uuid4().hex[:14].upper()}")
        elif step == "online":
            await customer.top_up_online(f"{rng.randrange(500, 3001, 100)}.00")
        else:
            await customer.look_around()

    async def settle(self) -> None:
        """Every customer's end-of-run reading (see `Customer.settle`)."""
        signed_up = [c for c in self.customers if c.token]
        results = await asyncio.gather(*(c.settle() for c in signed_up), return_exceptions=True)
        for customer, result in zip(signed_up, results, strict=True):
            if isinstance(result, BaseException):
                self.surprises.append(f"settling customer {customer.number}: {result!r}")
