"""An order's timeline from both services, over a real broker and real databases: a
confirmed, a rejected, a payment-declined and a timed-out order, and who may read it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from client._timeline import OrderTimeline, TimelineStep, timeline
from contracts.bookstore.orders.v1 import orders_pb2 as pb
from contracts.bookstore.timeline.v1 import timeline_pb2 as tl
from orders.timeouts import TIMEOUT_REASON, Sweeper
from tests.integration.orders.conftest import Metadata, Stack, running_saga
from tests.waiting import eventually

pytestmark = pytest.mark.integration
INVENTORY_STATES = ("stock held", "stock sold", "stock released", "stock rejected",
                    "stock returned", "nothing to hold")


@pytest.fixture
async def saga(stack: Stack, amqp_url: str) -> AsyncIterator[Stack]:
    async with running_saga(stack, amqp_url, stack.handlers):
        yield stack


async def trace(stack: Stack, order_id: str, who: Metadata | None = None) -> OrderTimeline:
    """Both services' parts merged, as the client library does; inventory not knowing the
    order yet is no steps."""
    request = tl.OrderTimelineRequest(order_id=order_id)
    mine = await stack.orders.GetOrderTimeline(request, metadata=who or stack.alice)
    try:
        theirs = list((await stack.inventory.GetOrderTimeline(
            request, metadata=who or stack.alice)).steps)
    except grpc.aio.AioRpcError as exc:
        if exc.code() != grpc.StatusCode.NOT_FOUND:
            raise
        theirs = []
    return timeline(mine.order, mine.steps, theirs)


async def trace_until(stack: Stack, order_id: str, done: Callable[[OrderTimeline], bool],
                      within: float = 20) -> OrderTimeline:
    async def traced() -> OrderTimeline | None:
        found = await trace(stack, order_id)
        return found if done(found) else None

    return await eventually(traced, within, what=f"order {order_id}'s timeline")


def inventory_last(found: OrderTimeline) -> str:
    states = [s.step for s in found.steps if s.step in INVENTORY_STATES]
    return states[-1] if states else ""


def names(found: OrderTimeline) -> list[tuple[str, str]]:
    return [(s.service, s.step) for s in found.steps]


def assert_in_time_order(steps: list[TimelineStep]) -> None:
    times = [(s.at.seconds, s.at.nanos) for s in steps]
    assert times == sorted(times)


def assert_received_what_was_emitted(found: OrderTimeline) -> None:
    emitted = {s.event_id: s.event for s in found.steps if s.step.startswith("emitted ")}
    for step in found.steps:
        if step.step.startswith("received "):
            assert emitted.get(step.event_id) == step.event, step
            assert step.attempts >= 1


async def test_a_confirmed_order_shows_every_step_through_inventorys_sale(saga: Stack) -> None:
    book = await saga.add_book(stock=3)
    order = await saga.place((book, 2), payment_token="tok_visa")
    # The consumer may handle an event before its relay has marked it published: wait for both.
    found = await trace_until(saga, order.id, lambda t: inventory_last(t) == "stock sold"
                              and all(s.detail == "published" for s in t.steps
                                      if s.step.startswith("emitted ")))
    assert found.status == "CONFIRMED"
    assert names(found) == [
        ("orders", "placed"), ("orders", "emitted OrderPlaced"),
        ("inventory", "received OrderPlaced"), ("inventory", "stock held"),
        ("inventory", "emitted StockReserved"), ("orders", "received StockReserved"),
        ("orders", "payment due"), ("orders", "confirmed"), ("orders", "emitted OrderConfirmed"),
        ("inventory", "received OrderConfirmed"), ("inventory", "stock sold")]
    assert_in_time_order(found.steps)
    assert_received_what_was_emitted(found)
    assert found.waiting_for is None
    assert all(s.duration_ms >= 0 for s in found.steps)
    handled = [s for s in found.steps if s.step.startswith("received ")]
    assert [s.attempts for s in handled] == [1, 1, 1]
    assert not any(s.redelivered for s in handled)
    # The JSON document the CLI prints.
    document = found.to_json()
    assert (document["order_id"], document["status"]) == (order.id, "CONFIRMED")
    first = document["steps"][0]
    assert {"at", "service", "step", "event_id", "duration_ms"} <= set(first)
    assert datetime.fromisoformat(first["at"]).tzinfo == UTC
    assert document["steps"][-1]["step"] == "stock sold"


async def test_a_rejected_order_ends_with_inventorys_refusal(saga: Stack) -> None:
    book = await saga.add_book(title="Scarce", stock=1)
    order = await saga.place((book, 2))
    found = await trace_until(
        saga, order.id,
        lambda t: t.status == "REJECTED" and ("orders", "received StockRejected") in names(t))
    assert names(found) == [
        ("orders", "placed"), ("orders", "emitted OrderPlaced"),
        ("inventory", "received OrderPlaced"), ("inventory", "stock held"),
        ("inventory", "stock rejected"), ("inventory", "emitted StockRejected"),
        ("orders", "received StockRejected"), ("orders", "rejected")]
    assert inventory_last(found) == "stock rejected"
    rejected = found.steps[-1]
    assert rejected.detail.startswith("stock unavailable: Scarce: not enough stock")
    assert found.waiting_for is None
    assert_in_time_order(found.steps)
    assert_received_what_was_emitted(found)


async def test_a_declined_payment_ends_with_inventorys_release(saga: Stack) -> None:
    book = await saga.add_book(stock=3)
    order = await saga.place((book, 1), payment_token="tok_declined")
    found = await trace_until(saga, order.id, lambda t: inventory_last(t) == "stock released")
    assert found.status == "CANCELLED"
    assert names(found)[-6:] == [
        ("orders", "received StockReserved"), ("orders", "payment due"),
        ("orders", "cancelled"), ("orders", "emitted OrderCancelled"),
        ("inventory", "received OrderCancelled"), ("inventory", "stock released")]
    cancelled = next(s for s in found.steps if s.step == "cancelled")
    assert cancelled.detail == "payment declined: card declined"
    assert found.waiting_for is None
    assert_in_time_order(found.steps)
    assert_received_what_was_emitted(found)


async def test_a_timed_out_order_says_what_it_waited_for_then_how_inventory_let_go(
    stack: Stack, amqp_url: str,
) -> None:
    """No relay and no inventory at first: the order waits on its own outbox; the sweeper
    gives up on it; once the saga runs, inventory hears of it and holds nothing."""
    book = await stack.add_book(stock=4)
    order = await stack.place((book, 2))
    stuck = await trace(stack, order.id)
    assert (stuck.status, stuck.waiting_for) == (
        "PENDING", "orders to publish OrderPlaced (still in its outbox)")
    sweeper = Sweeper(stack.app.store, stack.app.commands, timeout=timedelta(0), interval=1)
    assert (await sweeper.sweep_once()).expired == 1
    async with running_saga(stack, amqp_url, stack.handlers):
        found = await trace_until(
            stack, order.id,
            lambda t: t.waiting_for is None
            and inventory_last(t) in ("stock released", "nothing to hold"))
    assert found.status == "CANCELLED"
    cancelled = next(s for s in found.steps if s.step == "cancelled")
    assert cancelled.detail == TIMEOUT_REASON
    assert ("inventory", "received OrderCancelled") in names(found)
    assert ("inventory", "received OrderPlaced") in names(found)
    assert_in_time_order(found.steps)
    assert_received_what_was_emitted(found)


async def test_only_the_owner_or_an_admin_may_read_a_timeline(saga: Stack) -> None:
    book = await saga.add_book(stock=2)
    order = await saga.place((book, 1))
    mine = await trace_until(saga, order.id, lambda t: inventory_last(t) == "stock sold")
    request = tl.OrderTimelineRequest(order_id=order.id)
    for stub in (saga.orders, saga.inventory):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.GetOrderTimeline(request, metadata=saga.bob)
        assert refused.value.code() == grpc.StatusCode.NOT_FOUND  # never PERMISSION_DENIED
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await stub.GetOrderTimeline(tl.OrderTimelineRequest(order_id="no-such-order"),
                                        metadata=saga.alice)
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.aio.AioRpcError) as anonymous:
            await stub.GetOrderTimeline(request)
        assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED
    as_admin = await trace(saga, order.id, saga.admin)
    assert names(as_admin) == names(mine)


async def test_a_dead_letter_about_the_order_is_a_step_and_what_it_waits_for(
    stack: Stack,
) -> None:
    """Dead letters are read from the service's ``dead_letters`` collection."""
    book = await stack.add_book(stock=2)
    order = await stack.place((book, 1))
    placed = await stack.db["outbox"].find_one({"correlation_id": order.id})
    assert placed is not None
    await stack.db["outbox"].update_one(  # as if the relay had published it
        {"_id": placed["_id"]}, {"$set": {"state": "published",
                                           "published_at": datetime.now(UTC)}})
    await stack.inventory_db["dead_letters"].insert_one({
        "_id": placed["_id"], "type": "OrderPlaced", "correlation_id": order.id,
        "error": "PoisonMessage: no lines", "attempts": 5,
        "dead_lettered_at": datetime.now(UTC), "queue": "bookstore.inventory",
        "payload": placed["payload"], "headers": {}})
    found = await trace(stack, order.id, stack.admin)
    dead = [s for s in found.steps if s.step == "dead-lettered"]
    assert [(s.service, s.event, s.event_id, s.attempts, s.detail) for s in dead] == [
        ("inventory", "OrderPlaced", placed["_id"], 5, "PoisonMessage: no lines")]
    assert found.waiting_for == (
        "a person: inventory dead-lettered OrderPlaced (PoisonMessage: no lines)")
    assert (await stack.status(order.id)) == pb.ORDER_STATUS_PENDING
