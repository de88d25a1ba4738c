"""The order saga with two instances of every service: the end-to-end checks still hold.

The instances share each service's database and queue, so they compete for messages, their
relays share one outbox and their sweepers one order collection; whichever instance a request
reaches, and whichever consumes the events, the outcome must be the same as with one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Collection

import grpc
import pytest

from contracts.bookstore.orders.v1 import orders_pb2 as pb
from runtime.mongo import make_client
from tests.e2e.shop import S, Shop
from tests.scaleout.conftest import open_shops
from tests.stack import ADMIN_EMAIL, Stack

# Six interpreters start before the first test: allow for a busy machine.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


async def watch_until_confirmed(shop: Shop, order_id: str, who: tuple[tuple[str, str], ...]
                                ) -> list[int]:
    seen: list[int] = []
    async with asyncio.timeout(30):
        async for reply in shop.orders.WatchOrder(pb.OrderIDRequest(order_id=order_id),
                                                  metadata=who):
            seen.append(reply.order.status)
            if reply.order.status in (S.ORDER_STATUS_CONFIRMED, S.ORDER_STATUS_REJECTED,
                                      S.ORDER_STATUS_CANCELLED):
                break
    return seen


async def payments_and_outbox(stack: Stack, mongo_url: str, order_ids: Collection[str]
                              ) -> tuple[dict[str, str], set[str]]:
    """The charge state per order (the gateway keys charges by order id, so one each at most),
    and the states left in the outbox both orders instances share."""
    client = make_client(mongo_url)
    try:
        db = client[stack.env["BOOKSTORE_ORDERS_MONGO_DB"]]
        found = db["payments"].find({"_id": {"$in": list(order_ids)}}, {"state": 1})
        charges = {str(c["_id"]): str(c["state"]) async for c in found}
        states = set(await db["outbox"].distinct("state"))
    finally:
        await client.close()
    return charges, states


async def placements(calls: Collection[Awaitable[pb.Order]]) -> tuple[list[str], list[object]]:
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    placed = [o.id for o in outcomes if isinstance(o, pb.Order)]
    return placed, [o for o in outcomes if not isinstance(o, pb.Order)]


async def test_happy_path_through_both_instances_of_every_service(scaled: Stack) -> None:
    async with open_shops(scaled) as shops:
        for here, there in ((shops[0], shops[1]), (shops[1], shops[0])):
            _, me = await here.customer("Ada")
            book = await here.add_book("Dune", 1599, stock=3)
            order = await here.place(me, [(book, 2)])
            assert order.status == S.ORDER_STATUS_PENDING
            # The other instance's watcher sees what either instance's consumer changed.
            assert await watch_until_confirmed(there, order.id, me) == [
                S.ORDER_STATUS_PENDING, S.ORDER_STATUS_CONFIRMED]
            after = await there.quiet_stock(book)
            assert (after.available, after.reserved, after.sold) == (1, 0, 2)
            history = await there.orders.GetOrderHistory(pb.UserIDRequest(), metadata=me)
            assert [o.id for o in history.orders] == [order.id]


def handled_events(stack: Stack, service: str) -> list[int]:
    """How many events each instance of ``service`` handled, from its log."""
    return [stack.log_path(service, i).read_text(errors="replace").count("event handled")
            for i in stack.instances(service)]


async def test_instances_racing_at_start_made_one_admin(scaled: Stack, mongo_url: str) -> None:
    client = make_client(mongo_url)
    try:
        users = client[scaled.env["BOOKSTORE_USER_MONGO_DB"]]["users"]
        admins = await users.find({"email": ADMIN_EMAIL}, {"role": 1}).to_list()
    finally:
        await client.close()
    assert [a["role"] for a in admins] == ["admin"]
    async with open_shops(scaled) as shops:  # and either instance signs the admin in
        assert all(shop.admin for shop in shops)


async def test_hundred_customers_over_both_orders_instances(scaled: Stack, mongo_url: str
                                                            ) -> None:
    async with open_shops(scaled) as shops:
        book = await shops[0].add_book("Last Ten", 1200, stock=10)
        customers = await asyncio.gather(*(shops[i % 2].customer(f"C{i}") for i in range(100)))
        placed, refused = await placements(
            [shops[i % 2].place(me, [(book, 1)]) for i, (_, me) in enumerate(customers)])
        assert all(isinstance(e, grpc.aio.AioRpcError)
                   and e.code() == grpc.StatusCode.FAILED_PRECONDITION for e in refused)
        settled = await shops[1].settle(placed, within=60)
        statuses = [o.status for o in settled.values()]
        assert statuses.count(S.ORDER_STATUS_CONFIRMED) == 10
        assert statuses.count(S.ORDER_STATUS_REJECTED) + len(refused) == 90
        assert S.ORDER_STATUS_PENDING not in statuses
        final = await shops[1].quiet_stock(book)
        assert (final.available, final.reserved, final.sold) == (0, 0, 10)
        assert await shops[0].invariant_violations() == []
        confirmed = {i for i, o in settled.items() if o.status == S.ORDER_STATUS_CONFIRMED}
        charges, _ = await payments_and_outbox(scaled, mongo_url, placed)
        # Exactly the confirmed orders were charged, whichever instance took StockReserved.
        assert {i for i, state in charges.items() if state == "approved"} == confirmed
        # Both instances of each consumer took a share of the messages.
        for service in ("inventory", "orders"):
            assert all(count > 0 for count in handled_events(scaled, service)), service


async def test_one_inventory_killed_mid_burst_the_other_settles_every_order(
        scaled: Stack, mongo_url: str) -> None:
    async with open_shops(scaled) as shops:
        _, me = await shops[0].customer()
        books = [await shops[0].add_book(f"Burst {i}", 500 + i, stock=8) for i in range(3)]
        calls = [shops[i % 2].place(me, [(books[i % 3], 1), (books[(i + 1) % 3], 1)])
                 for i in range(24)]
        placed, failures = await placements(calls[:12])  # their sagas are now under way
        await asyncio.to_thread(scaled.kill, "inventory", 1)
        try:
            await settle_after_kill(shops, scaled, mongo_url, books, calls[12:], placed, failures)
        finally:  # back to two instances, so the stack stops cleanly
            await asyncio.to_thread(scaled.start, "inventory", 1)


async def settle_after_kill(shops: list[Shop], scaled: Stack, mongo_url: str, books: list[str],
                            calls: Collection[Awaitable[pb.Order]], placed: list[str],
                            failures: list[object]) -> None:
    """With one inventory instance dead: place the rest, then every order must settle."""
    more, more_failures = await placements(calls)
    placed, failures = placed + more, failures + more_failures
    # Orders round-robins to inventory and retries: the survivor prices every placement.
    assert all(isinstance(e, grpc.aio.AioRpcError)
               and e.code() == grpc.StatusCode.FAILED_PRECONDITION for e in failures)
    # A transaction the killed instance left open holds its books until the database
    # reaps it (transactionLifetimeLimitSeconds, 60 s by default): allow for that.
    settled = await shops[0].settle(placed, within=150)
    assert set(settled) == set(placed)
    for book in books:
        await shops[0].quiet_stock(book)
    assert await shops[0].invariant_violations() == []
    confirmed = sum(o.status == S.ORDER_STATUS_CONFIRMED for o in settled.values())
    assert confirmed > 0
    assert sum([(await shops[0].book(b)).sold for b in books]) == 2 * confirmed
    charges, outbox_states = await payments_and_outbox(scaled, mongo_url, placed)
    assert {i for i, state in charges.items() if state == "approved"} == {
        i for i, o in settled.items() if o.status == S.ORDER_STATUS_CONFIRMED}
    assert "failed" not in outbox_states
