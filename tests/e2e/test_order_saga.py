"""The order saga across three real service processes, a real broker and real databases."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from contracts.bookstore.orders.v1 import orders_pb2 as pb
from tests.e2e.shop import S, open_shop
from tests.stack import Stack
from tests.waiting import until

# Starting three interpreters counts against the first test: allow for a busy machine.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


async def test_happy_path(stack: Stack) -> None:
    async with open_shop(stack) as shop:
        user_id, me = await shop.customer("Ada")
        a = await shop.add_book("Dune", 1599, stock=5)
        b = await shop.add_book("Emma", 899, stock=2)
        order = await shop.place(me, [(a, 2), (b, 1)])
        assert (order.status, order.total_cents) == (S.ORDER_STATUS_PENDING, 2 * 1599 + 899)
        seen = []
        async with asyncio.timeout(30):
            async for reply in shop.orders.WatchOrder(pb.OrderIDRequest(order_id=order.id),
                                                      metadata=me):
                seen.append(reply.order.status)
                if reply.order.status == S.ORDER_STATUS_CONFIRMED:
                    assert reply.order.payment_reference.startswith("pay_")
                    break
        assert seen == [S.ORDER_STATUS_PENDING, S.ORDER_STATUS_CONFIRMED]
        dune, emma = await shop.quiet_stock(a), await shop.quiet_stock(b)
        assert (dune.available, dune.sold, emma.available, emma.sold) == (3, 2, 1, 1)
        history = await shop.orders.GetOrderHistory(pb.UserIDRequest(), metadata=me)
        assert [(o.id, o.user_id) for o in history.orders] == [(order.id, user_id)]


async def test_not_enough_stock_is_rejected_and_stock_untouched(stack: Stack) -> None:
    async with open_shop(stack) as shop:
        _, me = await shop.customer()
        book = await shop.add_book("Scarce", 1000, stock=3)
        # Orders keeps no stock figure: every placement is taken, the reservation decides.
        placed = await asyncio.gather(*(shop.place(me, [(book, 2)]) for _ in range(5)))
        assert {o.status for o in placed} == {S.ORDER_STATUS_PENDING}
        settled = await shop.settle([o.id for o in placed], within=30)
        statuses = sorted(o.status for o in settled.values())
        assert statuses.count(S.ORDER_STATUS_CONFIRMED) == 1
        rejected = [o for o in settled.values() if o.status == S.ORDER_STATUS_REJECTED]
        assert len(rejected) == 4
        line = rejected[0].lines[0]
        assert line.rejection_reason.startswith("not enough stock (2 requested, ")
        assert rejected[0].reason.startswith("stock unavailable: Scarce: not enough stock")
        after = await shop.quiet_stock(book)
        assert (after.available, after.reserved, after.sold) == (1, 0, 2)


async def test_declined_payment_cancels_and_releases_stock(stack: Stack) -> None:
    async with open_shop(stack) as shop:
        _, me = await shop.customer()
        book = await shop.add_book("Declined", 2500, stock=4)
        order = await shop.place(me, [(book, 3)], payment_token="tok_declined")
        settled = (await shop.settle([order.id], within=30))[order.id]
        assert (settled.status, settled.reason) == (S.ORDER_STATUS_CANCELLED,
                                                    "payment declined: card declined")
        after = await shop.book_when(book, lambda b: b.available == 4)
        assert (after.reserved, after.sold) == (0, 0)


async def test_hundred_customers_for_the_last_ten_copies(stack: Stack) -> None:
    async with open_shop(stack) as shop:
        book = await shop.add_book("Last Ten", 1200, stock=10)
        customers = await asyncio.gather(*(shop.customer(f"C{i}") for i in range(100)))
        outcomes = await asyncio.gather(*(shop.place(me, [(book, 1)]) for _, me in customers),
                                        return_exceptions=True)
        placed = [o.id for o in outcomes if isinstance(o, pb.Order)]
        refused = [o for o in outcomes if not isinstance(o, pb.Order)]
        assert refused == []  # the reservation decides, not the placement
        settled = await shop.settle(placed, within=60)
        statuses = [o.status for o in settled.values()]
        confirmed = statuses.count(S.ORDER_STATUS_CONFIRMED)
        rejected = statuses.count(S.ORDER_STATUS_REJECTED)
        print(f"confirmed={confirmed} rejected={rejected} refused_at_placement={len(refused)}")
        assert confirmed == 10
        assert rejected + len(refused) == 90
        assert S.ORDER_STATUS_PENDING not in statuses
        final = await shop.quiet_stock(book)
        assert (final.available, final.reserved, final.sold) == (0, 0, 10)
        assert await shop.invariant_violations() == []


async def test_inventory_killed_mid_burst_every_order_settles(stack: Stack) -> None:
    async with open_shop(stack) as shop:
        _, me = await shop.customer()
        books = [await shop.add_book(f"Burst {i}", 500 + i, stock=6) for i in range(3)]

        taken: list[pb.Order] = []

        async def place(i: int) -> pb.Order:
            order = await shop.place(me, [(books[i % 3], 1), (books[(i + 1) % 3], 1)])
            taken.append(order)
            return order

        async def burst(count: int) -> list[object]:
            return await asyncio.gather(*(place(i) for i in range(count)),
                                        return_exceptions=True)

        first = asyncio.create_task(burst(12))
        await until(lambda: taken)  # the burst is under way: its first order was taken
        await asyncio.to_thread(stack.kill, "inventory")
        during = await burst(4)  # inventory is away: still taken, priced from orders' catalogue
        outcomes = [*await first, *during]
        await asyncio.to_thread(stack.start, "inventory")
        outcomes += await burst(6)
        placed = [o.id for o in outcomes if isinstance(o, pb.Order)]
        failures = [o for o in outcomes if not isinstance(o, pb.Order)]
        assert failures == []  # placing an order never asks inventory
        assert len(placed) == 22
        settled = await shop.settle(placed, within=90)
        assert set(settled) == set(placed)
        print(f"placed={len(placed)} refused={len(failures)} confirmed="
              f"{sum(o.status == S.ORDER_STATUS_CONFIRMED for o in settled.values())}")
        for book in books:
            await shop.quiet_stock(book)
        assert await shop.invariant_violations() == []
        confirmed = sum(o.status == S.ORDER_STATUS_CONFIRMED for o in settled.values())
        sold = sum([(await shop.book(b)).sold for b in books])
        assert sold == 2 * confirmed  # every confirmed order sold exactly its two copies


async def test_orders_placed_while_inventory_is_stopped_settle_when_it_returns(
    stack: Stack,
) -> None:
    """Inventory stopped: orders still takes orders, priced from its own catalogue, and the
    saga settles every one of them once inventory is back."""
    async with open_shop(stack) as shop:
        customers = await asyncio.gather(*(shop.customer(f"Patient {i}") for i in range(4)))
        dune = await shop.add_book("Dune", 1599, stock=40)
        emma = await shop.add_book("Emma", 899, stock=40)
        first = await shop.place(customers[0][1], [(dune, 1), (emma, 1)])
        await shop.settle([first.id], within=30)
        assert await asyncio.to_thread(stack.stop, "inventory") == 0
        try:
            placed = await asyncio.gather(*(
                shop.place(customers[i % 4][1], [(dune, 1 + i % 2), (emma, 1)])
                for i in range(20)))
            assert [o.status for o in placed] == [S.ORDER_STATUS_PENDING] * 20
            assert [o.total_cents for o in placed] == [
                (1 + i % 2) * 1599 + 899 for i in range(20)]
            still = await asyncio.gather(*(shop.order(o.id) for o in placed))
            assert {o.status for o in still} == {S.ORDER_STATUS_PENDING}  # nobody to reserve
        finally:
            await asyncio.to_thread(stack.start, "inventory")
        settled = await shop.settle([o.id for o in placed], within=90)
        assert {o.status for o in settled.values()} == {S.ORDER_STATUS_CONFIRMED}
        dune_after, emma_after = await shop.quiet_stock(dune), await shop.quiet_stock(emma)
        assert (dune_after.sold, dune_after.available) == (31, 9)  # 1 + 10 * 1 + 10 * 2
        assert (emma_after.sold, emma_after.available) == (21, 19)
        assert await shop.invariant_violations() == []


async def test_bad_input_and_authorization_over_the_wire(stack: Stack) -> None:
    async with open_shop(stack) as shop:
        _, alice = await shop.customer("Alice")
        _, bob = await shop.customer("Bob")
        book = await shop.add_book("Guarded", 700, stock=5)
        order = await shop.place(alice, [(book, 1)])

        async def code_of(call: object) -> grpc.StatusCode:
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await call  # type: ignore[misc]
            return info.value.code()

        lines = [pb.OrderLineRequest(book_id=book, quantity=1)]
        assert await code_of(shop.orders.PlaceOrder(pb.OrderRequest(lines=lines))) \
            == grpc.StatusCode.UNAUTHENTICATED
        assert await code_of(shop.place(alice, [(book, 0)])) == grpc.StatusCode.INVALID_ARGUMENT
        assert await code_of(shop.place(alice, [("no-such-book", 1)])) \
            == grpc.StatusCode.NOT_FOUND
        assert await code_of(shop.orders.GetOrderStatus(
            pb.OrderIDRequest(order_id=order.id), metadata=bob)) == grpc.StatusCode.NOT_FOUND
        assert await code_of(shop.orders.UpdateOrderStatus(pb.OrderStatusUpdateRequest(
            order_id=order.id, status=S.ORDER_STATUS_SHIPPED), metadata=alice)) \
            == grpc.StatusCode.PERMISSION_DENIED
        await shop.settle([order.id], within=30)
        assert await code_of(shop.orders.UpdateOrderStatus(pb.OrderStatusUpdateRequest(
            order_id=order.id, status=S.ORDER_STATUS_COMPLETED), metadata=shop.admin)) \
            == grpc.StatusCode.FAILED_PRECONDITION


async def test_stalled_inventory_times_the_order_out_and_releases_its_stock(
    stack: Stack,
) -> None:
    """Orders restarted with a 3 s timeout; inventory frozen (SIGSTOP) right after placing."""
    assert await asyncio.to_thread(stack.stop, "orders") == 0  # SIGTERM: a clean exit
    await asyncio.to_thread(stack.start, "orders", BOOKSTORE_ORDER_TIMEOUT_SECONDS="3")
    try:
        async with open_shop(stack) as shop:
            _, me = await shop.customer()
            for _ in range(3):  # the freeze must land before the reservation: nearly always
                book = await shop.add_book("Stalled", 1500, stock=4)
                order = await shop.place(me, [(book, 2)])
                stack.pause("inventory")
                try:
                    settled = (await shop.settle([order.id], within=30))[order.id]
                finally:
                    stack.resume("inventory")
                if settled.status == S.ORDER_STATUS_CANCELLED:
                    break
            assert (settled.status, settled.reason) == (S.ORDER_STATUS_CANCELLED,
                                                        "timed out waiting for stock")
            after = await shop.book_when(book, lambda b: b.available == 4 and b.reserved == 0)
            assert after.sold == 0
            assert (await shop.order(order.id)).status == S.ORDER_STATUS_CANCELLED
            assert await shop.invariant_violations() == []
    finally:
        await asyncio.to_thread(stack.stop, "orders")
        await asyncio.to_thread(stack.start, "orders")
