"""Saga reactions, run as the consumer runs them: in one outbox transaction each."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contracts.bookstore.events.v1 import events_pb2 as ev
from contracts.bookstore.orders.v1 import orders_pb2 as pb
from orders.timeouts import TIMEOUT_REASON, Sweeper
from tests.integration.orders.conftest import Stack, reserved

pytestmark = pytest.mark.integration


async def get(stack: Stack, order_id: str) -> pb.Order:
    response = await stack.orders.GetOrderStatus(pb.OrderIDRequest(order_id=order_id),
                                                 metadata=stack.alice)
    return response.order


async def test_rejection_names_each_failing_line(stack: Stack) -> None:
    a, b = await stack.add_book("Alpha", stock=5), await stack.add_book("Beta", stock=5)
    order = await stack.place((a, 2), (b, 4))
    await stack.deliver(ev.StockRejected(order_id=order.id, lines=[ev.RejectedLine(
        book_id=b, requested=4, available=1,
        reason=ev.REJECTION_REASON_INSUFFICIENT_STOCK)]))
    after = await get(stack, order.id)
    assert after.status == pb.ORDER_STATUS_REJECTED
    assert [line.rejection_reason for line in after.lines] == [
        "", "not enough stock (4 requested, 1 available)"]
    assert after.reason == "stock unavailable: Beta: not enough stock (4 requested, 1 available)"
    assert [h.status for h in after.history] == [pb.ORDER_STATUS_PENDING,
                                                 pb.ORDER_STATUS_REJECTED]
    assert len(await stack.emitted(order.id)) == 1  # OrderPlaced only: nothing to release


async def test_reservation_is_paid_and_confirmed_once(stack: Stack) -> None:
    book = await stack.add_book(price_cents=700)
    order = await stack.place((book, 2), payment_token="tok_visa")
    event = reserved(order)
    await stack.deliver(event)
    await stack.deliver(reserved(order))  # inventory answering twice: a new event id
    after = await get(stack, order.id)
    assert after.status == pb.ORDER_STATUS_CONFIRMED
    assert after.payment_reference.startswith("pay_")
    assert [h.status for h in after.history] == [pb.ORDER_STATUS_PENDING,
                                                 pb.ORDER_STATUS_CONFIRMED]
    confirmations = [e for e in await stack.emitted(order.id)
                     if isinstance(e, ev.OrderConfirmed)]
    assert [c.payment_reference for c in confirmations] == [after.payment_reference]
    charges = await stack.db["payments"].find({}).to_list()
    assert [(c["_id"], c["amount_cents"], c["state"]) for c in charges] == [
        (order.id, 1400, "approved")]


async def test_the_price_at_placing_is_what_is_charged(stack: Stack) -> None:
    """A price change between placing and confirming does not reach the placed order."""
    book = await stack.add_book(price_cents=1000)
    order = await stack.place((book, 2), payment_token="tok_visa")
    await stack.change_price(book, 1800)
    await stack.deliver(reserved(order))
    after = await get(stack, order.id)
    assert (after.status, after.total_cents) == (pb.ORDER_STATUS_CONFIRMED, 2000)
    assert [line.unit_price_cents for line in after.lines] == [1000]
    charge = await stack.db["payments"].find_one({"_id": order.id})
    assert charge is not None
    assert (charge["amount_cents"], charge["state"]) == (2000, "approved")


@pytest.mark.parametrize(("token", "price", "why"), [
    ("tok_declined", 100, "card declined"),
    ("tok_insufficient_funds", 100, "insufficient funds"),
    ("tok_visa", 60_000, "amount exceeds the card limit"),  # the stack's limit is 50,000
])
async def test_declined_payment_cancels_and_releases(
    stack: Stack, token: str, price: int, why: str
) -> None:
    book = await stack.add_book(price_cents=price)
    order = await stack.place((book, 1), payment_token=token)
    await stack.deliver(reserved(order))
    after = await get(stack, order.id)
    assert after.status == pb.ORDER_STATUS_CANCELLED
    assert after.reason == f"payment declined: {why}"
    assert after.payment_reference == ""
    events = await stack.emitted(order.id)
    assert [type(e).__name__ for e in events] == ["OrderPlaced", "OrderCancelled"]
    assert events[1].reason == after.reason  # type: ignore[attr-defined]


async def test_transient_gateway_failure_is_retried(stack: Stack) -> None:
    book = await stack.add_book()
    order = await stack.place((book, 1), payment_token="tok_transient")
    await stack.deliver(reserved(order))
    assert (await get(stack, order.id)).status == pb.ORDER_STATUS_CONFIRMED
    assert await stack.gateway.state_of(order.id) == "approved"


async def test_timeout_cancels_and_a_late_reservation_is_released_again(stack: Stack) -> None:
    book = await stack.add_book()
    order = await stack.place((book, 1))
    eager = Sweeper(stack.app.store, stack.app.commands, timeout=timedelta(0), interval=1)
    swept = await eager.sweep_once()
    assert swept.expired == 1
    after = await get(stack, order.id)
    assert (after.status, after.reason) == (pb.ORDER_STATUS_CANCELLED, TIMEOUT_REASON)
    await stack.deliver(reserved(order))
    assert (await get(stack, order.id)).status == pb.ORDER_STATUS_CANCELLED
    names = [type(e).__name__ for e in await stack.emitted(order.id)]
    assert names == ["OrderPlaced", "OrderCancelled", "OrderCancelled"]
    assert await stack.gateway.state_of(order.id) is None  # never charged
    assert (await eager.sweep_once()).expired == 0


async def test_sweeper_leaves_young_and_settled_orders_alone(stack: Stack) -> None:
    book = await stack.add_book()
    young = await stack.place((book, 1))
    settled = await stack.place((book, 1))
    await stack.deliver(reserved(settled))
    assert (await stack.app.sweeper.sweep_once()).expired == 0  # timeout is 60 s
    assert (await get(stack, young.id)).status == pb.ORDER_STATUS_PENDING
    assert (await get(stack, settled.id)).status == pb.ORDER_STATUS_CONFIRMED


async def test_late_events_for_settled_orders_change_nothing(stack: Stack) -> None:
    book = await stack.add_book()
    order = await stack.place((book, 1))
    await stack.deliver(ev.StockRejected(order_id=order.id))
    await stack.deliver(reserved(order))
    after = await get(stack, order.id)
    assert after.status == pb.ORDER_STATUS_REJECTED
    assert len(after.history) == 2
    assert [type(e).__name__ for e in await stack.emitted(order.id)] == ["OrderPlaced"]
    assert await stack.gateway.state_of(order.id) is None
