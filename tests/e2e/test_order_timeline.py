"""``order_timeline`` of a timed-out order, across the three service processes: while
inventory is frozen, and after it has come back and let go of the order."""

from __future__ import annotations

import asyncio

import pytest

from client import BookstoreClient, ClientConfig, OrderTimeline
from orders.timeouts import TIMEOUT_REASON
from tests.e2e.shop import Metadata, S, open_shop
from tests.stack import Stack

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def client_for(stack: Stack, who: Metadata) -> BookstoreClient:
    env = {f"BOOKSTORE_{name.upper()}_ADDR": addr for name, addr in stack.addresses.items()}
    token = dict(who)["authorization"].removeprefix("Bearer ")
    return BookstoreClient(ClientConfig.from_env({**env, "BOOKSTORE_CLIENT_TIMEOUT": "2"}),
                           token=token)


def inventory_steps(found: OrderTimeline) -> list[str]:
    return [s.step for s in found.steps if s.service == "inventory"]


def reservation_states(found: OrderTimeline) -> list[str]:
    return [step for step in inventory_steps(found)
            if step.startswith("stock ") or step == "nothing to hold"]


async def test_a_timed_out_order_names_the_frozen_inventory_then_its_release(
    stack: Stack,
) -> None:
    assert await asyncio.to_thread(stack.stop, "orders") == 0
    await asyncio.to_thread(stack.start, "orders", BOOKSTORE_ORDER_TIMEOUT_SECONDS="3")
    try:
        async with open_shop(stack) as shop:
            _, me = await shop.customer()
            for _ in range(3):  # the freeze must land before the reservation: nearly always
                book = await shop.add_book("Traced", 1500, stock=4)
                order = await shop.place(me, [(book, 2)])
                stack.pause("inventory")
                try:
                    settled = (await shop.settle([order.id], within=30))[order.id]
                    async with client_for(stack, me) as bs:
                        frozen = await bs.order_timeline(order.id)
                finally:
                    stack.resume("inventory")
                if settled.status == S.ORDER_STATUS_CANCELLED:
                    break
            assert frozen.status == "CANCELLED"
            assert frozen.unavailable == ["inventory"]
            assert frozen.waiting_for is not None
            assert "inventory" in frozen.waiting_for
            cancelled = next(s for s in frozen.steps if s.step == "cancelled")
            assert cancelled.detail == TIMEOUT_REASON
            async with client_for(stack, me) as bs, asyncio.timeout(60):
                while True:
                    found = await bs.order_timeline(order.id)
                    if found.waiting_for is None and not found.unavailable:
                        break
                    await asyncio.sleep(0.1)
            # Held then released, or cancelled before it arrived (a tombstone).
            assert reservation_states(found)[-1] in ("stock released", "nothing to hold")
            assert "received OrderCancelled" in inventory_steps(found)
            times = [(s.at.seconds, s.at.nanos) for s in found.steps]
            assert times == sorted(times)
    finally:
        await asyncio.to_thread(stack.stop, "orders")
        await asyncio.to_thread(stack.start, "orders")
