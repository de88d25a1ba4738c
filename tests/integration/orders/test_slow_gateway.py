"""A payment gateway that takes 2 s a charge, under load, through the real consumer path:
no transaction is open while it works, and every order settles exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

import pytest

from contracts.bookstore.orders.v1 import orders_pb2 as pb
from orders.handlers import OrderHandlers
from orders.payments import PaymentResult, SimulatedGateway
from saga import in_transaction
from tests.integration.orders.conftest import Stack, running_saga
from tests.waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

ORDERS = 20
CHARGE_SECONDS = 2.0


@dataclass
class SlowGateway:
    """The simulated gateway behind a slow network: each charge takes ``CHARGE_SECONDS``."""

    inner: SimulatedGateway
    charges: list[tuple[str, bool]] = field(default_factory=list)

    async def charge(self, order_id: str, amount_cents: int, payment_token: str) -> PaymentResult:
        self.charges.append((order_id, in_transaction()))
        await asyncio.sleep(CHARGE_SECONDS)  # the gateway's latency, simulated
        return await self.inner.charge(order_id, amount_cents, payment_token)

    async def refund(self, order_id: str) -> None:
        await self.inner.refund(order_id)


async def test_slow_charges_run_outside_transactions_and_settle_each_order_once(
    stack: Stack, amqp_url: str,
) -> None:
    gateway = SlowGateway(stack.gateway)
    book = await stack.add_book(price_cents=300, stock=ORDERS)
    async with running_saga(stack, amqp_url, OrderHandlers(stack.app.store, gateway)):
        placed = await asyncio.gather(*(stack.place((book, 1), payment_token="tok_visa")
                                        for _ in range(ORDERS)))
        ids = {order.id for order in placed}

        async def all_settled() -> bool:
            return await stack.db["orders"].count_documents(
                {"_id": {"$in": list(ids)}, "status": "CONFIRMED"}) == ORDERS

        await eventually(all_settled, within=90)

    assert {order_id for order_id, _ in gateway.charges} == ids
    assert not [c for c in gateway.charges if c[1]], "a charge ran inside a transaction"
    payments = await stack.db["payments"].find({}).to_list()
    assert Counter(p["_id"] for p in payments) == Counter(ids)
    assert {p["state"] for p in payments} == {"approved"}
    for order_id in ids:
        order = await stack.db["orders"].find_one({"_id": order_id})
        assert order is not None
        moves = [h["status"] for h in order["history"] if "step" not in h]
        assert moves == ["PENDING", "CONFIRMED"]
        steps = [h["step"] for h in order["history"] if "step" in h]
        assert steps == ["payment_due"]
    confirmations = await stack.db["outbox"].find({"name": "OrderConfirmed"}).to_list()
    assert Counter(c["correlation_id"] for c in confirmations) == Counter(ids)
    final = await asyncio.gather(*(stack.status(order_id) for order_id in ids))
    assert set(final) == {pb.ORDER_STATUS_CONFIRMED}
