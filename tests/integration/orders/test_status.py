"""Reading, moving, cancelling and watching orders, with who may do what."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator

import grpc
import pytest

from contracts.bookstore.events.v1 import events_pb2 as ev
from contracts.bookstore.orders.v1 import orders_pb2 as pb
from orders.lifecycle import Status
from orders.store import ChangeFeedError, OrderStore, UpdatedIds
from orders.watch import OrderWatcher
from tests.integration.orders.conftest import Stack, reserved
from tests.waiting import eventually, until

pytestmark = pytest.mark.integration
S = pb.OrderStatus


async def confirmed_order(stack: Stack) -> pb.Order:
    book = await stack.add_book(stock=50)
    order = await stack.place((book, 1))
    await stack.deliver(reserved(order))
    return order


async def update(stack: Stack, order_id: str, status: int, who: object = None) -> pb.Order:
    response = await stack.orders.UpdateOrderStatus(
        pb.OrderStatusUpdateRequest(order_id=order_id, status=status),  # type: ignore[arg-type]
        metadata=who or stack.admin)  # type: ignore[arg-type]
    return response.order


async def expect(code: grpc.StatusCode, call: object) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call  # type: ignore[misc]
    assert info.value.code() == code
    return info.value.details() or ""


async def test_admin_ships_and_completes_with_history(stack: Stack) -> None:
    order = await confirmed_order(stack)
    await update(stack, order.id, S.ORDER_STATUS_SHIPPED)
    done = await update(stack, order.id, S.ORDER_STATUS_COMPLETED)
    assert done.status == S.ORDER_STATUS_COMPLETED
    assert [h.status for h in done.history] == [
        S.ORDER_STATUS_PENDING, S.ORDER_STATUS_CONFIRMED, S.ORDER_STATUS_SHIPPED,
        S.ORDER_STATUS_COMPLETED]
    stamps = [h.at.ToDatetime() for h in done.history]
    assert stamps == sorted(stamps)
    assert done.history[-1].reason == "set by admin"


async def test_illegal_moves_name_both_states(stack: Stack) -> None:
    order = await confirmed_order(stack)
    await update(stack, order.id, S.ORDER_STATUS_SHIPPED)
    details = await expect(grpc.StatusCode.FAILED_PRECONDITION,
                           update(stack, order.id, S.ORDER_STATUS_CONFIRMED))
    assert details == "cannot move order from SHIPPED to CONFIRMED"
    assert "from SHIPPED to CANCELLED" in await expect(
        grpc.StatusCode.FAILED_PRECONDITION, stack.orders.CancelOrder(
            pb.OrderIDRequest(order_id=order.id), metadata=stack.alice))
    pending = await stack.place((order.lines[0].book_id, 1))
    assert "from PENDING to SHIPPED" in await expect(
        grpc.StatusCode.FAILED_PRECONDITION, update(stack, pending.id, S.ORDER_STATUS_SHIPPED))
    assert "status" in await expect(grpc.StatusCode.INVALID_ARGUMENT,
                                    update(stack, pending.id, S.ORDER_STATUS_UNSPECIFIED))


async def test_only_admins_change_status(stack: Stack) -> None:
    order = await confirmed_order(stack)
    await expect(grpc.StatusCode.PERMISSION_DENIED,
                 update(stack, order.id, S.ORDER_STATUS_SHIPPED, stack.alice))
    assert await stack.status(order.id) == S.ORDER_STATUS_CONFIRMED


async def test_owner_cancels_a_paid_order_which_is_refunded(stack: Stack) -> None:
    order = await confirmed_order(stack)
    await expect(grpc.StatusCode.NOT_FOUND, stack.orders.CancelOrder(
        pb.OrderIDRequest(order_id=order.id), metadata=stack.bob))
    cancelled = (await stack.orders.CancelOrder(pb.OrderIDRequest(order_id=order.id),
                                                metadata=stack.alice)).order
    assert (cancelled.status, cancelled.reason) == (S.ORDER_STATUS_CANCELLED,
                                                    "cancelled by customer")
    names = [type(e).__name__ for e in await stack.emitted(order.id)]
    assert names == ["OrderPlaced", "OrderConfirmed", "OrderCancelled"]
    assert await stack.gateway.state_of(order.id) == "refunded"
    assert await stack.db["orders"].count_documents({"refund_due": True}) == 0


async def test_customers_see_only_their_own_orders(stack: Stack) -> None:
    book = await stack.add_book()
    order = await stack.place((book, 1))
    details = await expect(grpc.StatusCode.NOT_FOUND, stack.orders.GetOrderStatus(
        pb.OrderIDRequest(order_id=order.id), metadata=stack.bob))
    unknown = await expect(grpc.StatusCode.NOT_FOUND, stack.orders.GetOrderStatus(
        pb.OrderIDRequest(order_id="nope"), metadata=stack.bob))
    assert details == unknown.replace("nope", order.id)  # indistinguishable
    assert await stack.status(order.id) == S.ORDER_STATUS_PENDING  # admin sees it
    await expect(grpc.StatusCode.PERMISSION_DENIED, stack.orders.GetOrderHistory(
        pb.UserIDRequest(user_id="alice"), metadata=stack.bob))


async def test_history_pages_newest_first(stack: Stack) -> None:
    book = await stack.add_book(stock=50)
    placed = [(await stack.place((book, 1))).id for _ in range(5)]
    await stack.place((book, 1), who=stack.bob)
    seen: list[str] = []
    token = ""
    for _ in range(5):
        page = await stack.orders.GetOrderHistory(
            pb.UserIDRequest(page_size=2, page_token=token), metadata=stack.alice)
        seen += [o.id for o in page.orders]
        token = page.next_page_token
        if not token:
            break
    assert seen == placed[::-1]
    by_admin = await stack.orders.GetOrderHistory(pb.UserIDRequest(user_id="alice"),
                                                  metadata=stack.admin)
    assert [o.id for o in by_admin.orders] == placed[::-1]
    assert not by_admin.next_page_token
    assert "page_size" in await expect(grpc.StatusCode.INVALID_ARGUMENT,
                                       stack.orders.GetOrderHistory(
                                           pb.UserIDRequest(page_size=101),
                                           metadata=stack.alice))


def _crafted(body: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


async def test_history_refuses_tokens_it_did_not_issue_for_that_history(stack: Stack) -> None:
    book = await stack.add_book(stock=50)
    for _ in range(3):
        await stack.place((book, 1))
        await stack.place((book, 1), who=stack.bob)
    page = await stack.orders.GetOrderHistory(pb.UserIDRequest(page_size=1),
                                              metadata=stack.alice)
    token = page.next_page_token
    body = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    crafted = [
        _crafted({**body, "t": 2**63}), _crafted({**body, "t": 10**400}),
        _crafted({**body, "t": -1}), _crafted({**body, "i": {"$gt": ""}}),
        _crafted({**body, "extra": 1}), _crafted({"t": body["t"], "i": body["i"]}),
        base64.urlsafe_b64encode(b"[" * 100_000 + b"]" * 100_000).decode(),
        base64.urlsafe_b64encode(b"{\"q\":" * 300 + b"1" + b"}" * 300).decode(),
    ]
    for forged in crafted:
        details = await expect(grpc.StatusCode.INVALID_ARGUMENT, stack.orders.GetOrderHistory(
            pb.UserIDRequest(page_token=forged), metadata=stack.alice))
        assert details.startswith("page_token:")
    # Alice's token does not page through Bob's history, even in an admin's hands.
    for who, user_id in ((stack.bob, ""), (stack.admin, "bob")):
        details = await expect(grpc.StatusCode.INVALID_ARGUMENT, stack.orders.GetOrderHistory(
            pb.UserIDRequest(user_id=user_id, page_token=token), metadata=who))
        assert "another query" in details
    resumed = await stack.orders.GetOrderHistory(
        pb.UserIDRequest(page_size=1, page_token=token), metadata=stack.alice)
    assert len(resumed.orders) == 1


async def test_watch_sees_pending_then_confirmed_then_completion(stack: Stack) -> None:
    book = await stack.add_book()
    order = await stack.place((book, 1))
    call = stack.orders.WatchOrder(pb.OrderIDRequest(order_id=order.id), metadata=stack.alice)
    seen: list[int] = []
    async with asyncio.timeout(15):
        async for response in call:
            seen.append(response.order.status)
            if response.order.status == S.ORDER_STATUS_PENDING:
                await stack.deliver(reserved(order))
            elif response.order.status == S.ORDER_STATUS_CONFIRMED:
                await update(stack, order.id, S.ORDER_STATUS_SHIPPED)
            elif response.order.status == S.ORDER_STATUS_SHIPPED:
                await update(stack, order.id, S.ORDER_STATUS_COMPLETED)
    assert seen == [S.ORDER_STATUS_PENDING, S.ORDER_STATUS_CONFIRMED, S.ORDER_STATUS_SHIPPED,
                    S.ORDER_STATUS_COMPLETED]
    assert await call.code() == grpc.StatusCode.OK


async def test_watch_of_a_final_order_ends_at_once_and_hides_others(stack: Stack) -> None:
    book = await stack.add_book()
    order = await stack.place((book, 1))
    await stack.orders.CancelOrder(pb.OrderIDRequest(order_id=order.id), metadata=stack.alice)
    async with asyncio.timeout(10):
        states = [r.order.status async for r in stack.orders.WatchOrder(
            pb.OrderIDRequest(order_id=order.id), metadata=stack.alice)]
    assert states == [S.ORDER_STATUS_CANCELLED]
    with pytest.raises(grpc.aio.AioRpcError) as info:
        async for _ in stack.orders.WatchOrder(pb.OrderIDRequest(order_id=order.id),
                                               metadata=stack.bob):
            pass
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


async def test_client_going_away_ends_the_watch(stack: Stack) -> None:
    book = await stack.add_book()
    order = await stack.place((book, 1))
    call = stack.orders.WatchOrder(pb.OrderIDRequest(order_id=order.id), metadata=stack.alice)
    async with asyncio.timeout(10):
        first = await call.read()
    assert isinstance(first, pb.OrderResponse)
    assert first.order.status == S.ORDER_STATUS_PENDING
    call.cancel()
    assert call.cancelled()
    # The server stays healthy and keeps serving after the stream was dropped.
    assert await stack.status(order.id) == S.ORDER_STATUS_PENDING


class NoChangeStreams(OrderStore):
    """A store on a server whose change streams fail, as during a failover."""

    @contextlib.asynccontextmanager
    async def updated_ids(self, *, max_await_ms: int) -> AsyncIterator[UpdatedIds]:
        raise ChangeFeedError("change streams are not available")
        yield  # an async generator, like the real one


async def test_watch_falls_back_to_reading_when_change_streams_fail(stack: Stack) -> None:
    book = await stack.add_book()
    order = await stack.place((book, 1))
    watcher = OrderWatcher(NoChangeStreams(stack.db), poll_interval=0.05)
    seen: list[Status] = []
    async with asyncio.timeout(15):
        async for state in watcher.follow(order.id):
            seen.append(state.status)
            if state.status is Status.PENDING:
                await stack.deliver(ev.StockRejected(order_id=order.id))
    assert seen == [Status.PENDING, Status.REJECTED]


class CountingStreams(OrderStore):
    """A store that counts the change streams opened on it."""

    opened = 0

    @contextlib.asynccontextmanager
    async def updated_ids(self, *, max_await_ms: int) -> AsyncIterator[UpdatedIds]:
        self.opened += 1
        async with super().updated_ids(max_await_ms=max_await_ms) as updated:
            yield updated


async def follow_until_settled(watcher: OrderWatcher, order_id: str,
                               seen: list[Status] | None = None) -> list[Status]:
    """Every state the watch sent, into ``seen`` as they come: once it holds the first, the
    watch is registered and the shared stream open, so no later change can be missed."""
    seen = [] if seen is None else seen
    async for state in watcher.follow(order_id):
        seen.append(state.status)
        if state.status is not Status.PENDING:
            break
    return seen


async def test_concurrent_watches_share_one_change_stream(stack: Stack) -> None:
    book = await stack.add_book(stock=50)
    orders = [await stack.place((book, 1)) for _ in range(8)]
    store = CountingStreams(stack.db)
    watcher = OrderWatcher(store, quiet_interval=30)  # a missed change would time out
    try:
        seen_so_far: list[list[Status]] = [[] for _ in orders]
        watches = [asyncio.create_task(follow_until_settled(watcher, o.id, seen))
                   for o, seen in zip(orders, seen_so_far, strict=True)]
        await until(lambda: all(seen_so_far))  # every watch has read PENDING, waits for news
        for order in orders:
            await stack.deliver(reserved(order))
        async with asyncio.timeout(10):
            seen = await asyncio.gather(*watches)
    finally:
        await watcher.close()
    assert seen == [[Status.PENDING, Status.CONFIRMED]] * len(orders)
    assert store.opened == 1


async def test_the_shared_stream_closes_when_unwatched_and_reopens(stack: Stack) -> None:
    book = await stack.add_book(stock=50)
    first, second = await stack.place((book, 1)), await stack.place((book, 1))
    store = CountingStreams(stack.db)
    watcher = OrderWatcher(store, quiet_interval=0.2, linger=0.2)
    try:
        started: list[Status] = []
        follow = asyncio.create_task(follow_until_settled(watcher, first.id, started))
        await until(lambda: started)
        await stack.deliver(reserved(first))
        async with asyncio.timeout(10):
            assert await follow == [Status.PENDING, Status.CONFIRMED]

        async def closed() -> bool:
            return not watcher.streaming

        await eventually(closed)
        started = []
        follow = asyncio.create_task(follow_until_settled(watcher, second.id, started))
        await until(lambda: started)
        await stack.deliver(reserved(second))
        async with asyncio.timeout(10):
            assert await follow == [Status.PENDING, Status.CONFIRMED]
    finally:
        await watcher.close()
    assert store.opened == 2


@pytest.mark.parametrize("order_id", ["", "no-such-order"])
async def test_watching_an_order_that_does_not_exist_is_not_found(
    stack: Stack, order_id: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        async for _ in stack.orders.WatchOrder(pb.OrderIDRequest(order_id=order_id),
                                               metadata=stack.alice):
            pass
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


async def test_watching_another_customers_pending_order_is_not_found_and_ends(
    stack: Stack,
) -> None:
    book = await stack.add_book()
    order = await stack.place((book, 1))  # alice's, PENDING: a watch would wait on it
    async with asyncio.timeout(10):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            async for _ in stack.orders.WatchOrder(pb.OrderIDRequest(order_id=order.id),
                                                   metadata=stack.bob):
                pass
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert "does not exist" in (info.value.details() or "")
