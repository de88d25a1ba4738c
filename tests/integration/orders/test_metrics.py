"""Every status change of an order is counted once, by where it came from and went to.

The order servicer in-process (``conftest.py``): placing, the saga settling, an admin moving
an order on, a customer cancelling, the sweeper timing one out. Metrics live in the process's
registry, so each test compares before and after.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client import REGISTRY

from contracts.bookstore.events.v1 import events_pb2 as ev
from contracts.bookstore.orders.v1 import orders_pb2 as pb
from orders.timeouts import Sweeper
from tests.integration.orders.conftest import Stack, reserved

pytestmark = pytest.mark.integration
S = pb.OrderStatus
MOVES = [("PENDING", "CONFIRMED"), ("PENDING", "REJECTED"), ("PENDING", "CANCELLED"),
         ("CONFIRMED", "SHIPPED"), ("SHIPPED", "COMPLETED"), ("CONFIRMED", "CANCELLED")]


def counts() -> dict[str, float]:
    """The order metrics this file checks, as they stand."""
    def value(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    found = {f"{a}>{b}": value("bookstore_order_transitions_total", **{"from": a, "to": b})
             for a, b in MOVES}
    found["placed"] = value("bookstore_orders_placed_total")
    found["settled"] = value("bookstore_order_settle_seconds_count")
    for outcome in ("charged", "declined", "failed"):
        found[outcome] = value("bookstore_payments_total", outcome=outcome)
    return found


def moved(before: dict[str, float]) -> dict[str, float]:
    return {name: value - before[name] for name, value in counts().items()
            if value != before[name]}


async def update(stack: Stack, order_id: str, status: int) -> None:
    await stack.orders.UpdateOrderStatus(pb.OrderStatusUpdateRequest(
        order_id=order_id, status=status), metadata=stack.admin)  # type: ignore[arg-type]


async def test_a_whole_life_counts_each_move_once(stack: Stack) -> None:
    book = await stack.add_book(stock=50)
    before = counts()
    order = await stack.place((book, 1), idempotency_key="k-1")
    assert (await stack.place((book, 1), idempotency_key="k-1")).id == order.id  # a repeat
    await stack.deliver(reserved(order))
    await stack.deliver(reserved(order))  # inventory answering twice changes nothing
    await update(stack, order.id, S.ORDER_STATUS_SHIPPED)
    await update(stack, order.id, S.ORDER_STATUS_COMPLETED)
    assert moved(before) == {"placed": 1, "PENDING>CONFIRMED": 1, "settled": 1, "charged": 1,
                             "CONFIRMED>SHIPPED": 1, "SHIPPED>COMPLETED": 1}


async def test_rejected_declined_and_cancelled_orders(stack: Stack) -> None:
    book = await stack.add_book(stock=50)
    before = counts()
    rejected = await stack.place((book, 1))
    await stack.deliver(ev.StockRejected(order_id=rejected.id))
    declined = await stack.place((book, 1), payment_token="tok_declined")
    await stack.deliver(reserved(declined))
    paid = await stack.place((book, 1))
    await stack.deliver(reserved(paid))
    await stack.orders.CancelOrder(pb.OrderIDRequest(order_id=paid.id), metadata=stack.alice)
    assert moved(before) == {"placed": 3, "PENDING>REJECTED": 1, "PENDING>CANCELLED": 1,
                             "PENDING>CONFIRMED": 1, "CONFIRMED>CANCELLED": 1, "settled": 3,
                             "charged": 1, "declined": 1}


async def test_timeouts_count_as_cancellations_and_overdue_orders_are_shown(
        stack: Stack) -> None:
    book = await stack.add_book()
    first, second = await stack.place((book, 1)), await stack.place((book, 1))
    before = counts()
    one_at_a_time = Sweeper(stack.app.store, stack.app.commands, timeout=timedelta(0),
                            interval=1, batch=1)
    assert (await one_at_a_time.sweep_once()).expired == 1
    assert REGISTRY.get_sample_value("bookstore_orders_pending_overdue") == 1
    assert (await one_at_a_time.sweep_once()).expired == 1
    assert REGISTRY.get_sample_value("bookstore_orders_pending_overdue") == 0
    assert moved(before) == {"PENDING>CANCELLED": 2, "settled": 2}
    await stack.deliver(reserved(first))  # late: released again, no move
    assert {await stack.status(o.id) for o in (first, second)} == {S.ORDER_STATUS_CANCELLED}
    assert moved(before) == {"PENDING>CANCELLED": 2, "settled": 2}
