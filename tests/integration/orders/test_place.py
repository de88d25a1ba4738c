"""PlaceOrder over a real channel: pricing from orders' catalogue read model, validation,
auth, idempotency."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from contracts.bookstore.events.v1 import events_pb2 as ev
from contracts.bookstore.orders.v1 import orders_pb2 as pb
from runtime.auth import Role
from tests.integration.orders.conftest import Stack, bearer

pytestmark = pytest.mark.integration


async def test_order_is_priced_from_the_catalogue_and_starts_the_saga(stack: Stack) -> None:
    a = await stack.add_book("Alpha", price_cents=1250, stock=10)
    b = await stack.add_book("Beta", price_cents=999, stock=3)
    order = await stack.place((a, 2), (b, 1), (a, 1), payment_token="tok_visa")
    assert order.status == pb.ORDER_STATUS_PENDING
    assert order.user_id == "alice"
    assert [(line.title, line.quantity, line.unit_price_cents, line.line_total_cents)
            for line in order.lines] == [("Alpha", 3, 1250, 3750), ("Beta", 1, 999, 999)]
    assert order.total_cents == 4749
    assert [h.status for h in order.history] == [pb.ORDER_STATUS_PENDING]
    [placed] = await stack.emitted(order.id)
    assert isinstance(placed, ev.OrderPlaced)
    assert placed.user_id == "alice"
    assert [(line.book_id, line.quantity) for line in placed.lines] == [(a, 3), (b, 1)]


async def test_same_idempotency_key_returns_the_same_order(stack: Stack) -> None:
    book = await stack.add_book(stock=10)
    first = await stack.place((book, 1), idempotency_key="k-1")
    again = await stack.place((book, 1), idempotency_key="k-1")
    racing = await asyncio.gather(*(stack.place((book, 1), idempotency_key="k-2")
                                    for _ in range(5)))
    other_user = await stack.place((book, 1), idempotency_key="k-1", who=stack.bob)
    assert again.id == first.id
    assert len({o.id for o in racing}) == 1
    assert other_user.id != first.id  # keys are per user
    assert await stack.db["orders"].count_documents({}) == 3
    assert await stack.db["outbox"].count_documents({"name": "OrderPlaced"}) == 3


async def test_same_request_again_returns_its_order_whatever_the_line_order(
    stack: Stack,
) -> None:
    a, b = await stack.add_book(stock=10), await stack.add_book(stock=10)
    first = await stack.place((a, 2), (b, 1), idempotency_key="k-1", payment_token="tok_visa")
    again = await stack.place((b, 1), (a, 1), (a, 1), idempotency_key="k-1",
                              payment_token="tok_visa")
    assert again.id == first.id
    assert await stack.db["orders"].count_documents({}) == 1


@pytest.mark.parametrize(("lines", "payment_token"), [
    ([(0, 2)], "tok_visa"),  # another quantity
    ([(1, 1)], "tok_visa"),  # another book
    ([(0, 1), (1, 1)], "tok_visa"),  # another line
    ([(0, 1)], "tok_mastercard"),  # another payment token
])
async def test_same_key_for_a_different_order_is_refused(
    stack: Stack, lines: list[tuple[int, int]], payment_token: str,
) -> None:
    books = [await stack.add_book(stock=10), await stack.add_book(stock=10)]
    first = await stack.place((books[0], 1), idempotency_key="k-1", payment_token="tok_visa")
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stack.place(*[(books[i], q) for i, q in lines], idempotency_key="k-1",
                          payment_token=payment_token)
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "idempotency_key was already used for a different order" in (
        info.value.details() or "")
    stored = await stack.db["orders"].find({}).to_list()
    assert [o["_id"] for o in stored] == [first.id]


async def test_racing_requests_with_one_key_get_one_order_or_a_refusal(stack: Stack) -> None:
    book = await stack.add_book(stock=10)
    outcomes = await asyncio.gather(
        *(stack.place((book, quantity), idempotency_key="k-race")
          for quantity in (1, 2, 1, 2)), return_exceptions=True)
    placed = [o for o in outcomes if isinstance(o, pb.Order)]
    refused = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    assert len({o.id for o in placed}) == 1
    assert len({o.lines[0].quantity for o in placed}) == 1
    assert len(placed) + len(refused) == 4
    assert all(e.code() == grpc.StatusCode.FAILED_PRECONDITION for e in refused)
    assert len(refused) == 2
    assert await stack.db["orders"].count_documents({}) == 1


@pytest.mark.parametrize(("quantities", "field"), [
    ([0], "lines[0].quantity"), ([1, 101], "lines[1].quantity"), ([1] * 21, "lines"), ([], "lines"),
])
async def test_bad_lines_are_invalid_arguments(
    stack: Stack, quantities: list[int], field: str
) -> None:
    book = await stack.add_book(stock=500)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stack.place(*[(book, q) for q in quantities])
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (info.value.details() or "").startswith(f"{field}:")


async def test_unknown_book_is_not_found_by_name(stack: Stack) -> None:
    book = await stack.add_book()
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stack.place((book, 1), ("0123456789abcdef01234567", 1))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert "0123456789abcdef01234567" in (info.value.details() or "")


async def test_more_than_available_is_left_to_the_reservation(stack: Stack) -> None:
    """Orders keeps no stock figure: the saga's reservation answers (StockRejected)."""
    book = await stack.add_book("Scarce", stock=2)
    order = await stack.place((book, 3))
    assert order.status == pb.ORDER_STATUS_PENDING
    [placed] = await stack.emitted(order.id)
    assert isinstance(placed, ev.OrderPlaced)
    assert [(line.book_id, line.quantity) for line in placed.lines] == [(book, 3)]


async def test_orders_are_placed_while_inventory_is_down(stack: Stack) -> None:
    book = await stack.add_book("Away", price_cents=1234)
    await stack.inventory_server.stop(0)
    order = await stack.place((book, 2))
    assert (order.status, order.total_cents) == (pb.ORDER_STATUS_PENDING, 2468)
    assert [line.title for line in order.lines] == ["Away"]


async def test_a_book_is_orderable_once_its_event_arrives(stack: Stack) -> None:
    """The window right after AddBook: inventory has the book, orders has not heard yet."""
    book = await stack.add_book("Brand New", tell_orders=False)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stack.place((book, 1))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert f"book {book} does not exist" in (info.value.details() or "")
    await stack.deliver_catalogue_events()
    assert (await stack.place((book, 1))).lines[0].title == "Brand New"


async def test_new_orders_pay_the_new_price(stack: Stack) -> None:
    book = await stack.add_book("Repriced", price_cents=1000)
    before = await stack.place((book, 1))
    await stack.change_price(book, 1500)
    after = await stack.place((book, 1))
    assert (before.total_cents, after.total_cents) == (1000, 1500)


async def test_token_required_and_checked(stack: Stack) -> None:
    book = await stack.add_book()
    request = pb.OrderRequest(lines=[pb.OrderLineRequest(book_id=book, quantity=1)])
    expired = stack.issuer.issue("alice", Role.CUSTOMER,
                                 now=datetime.now(UTC) - timedelta(hours=2)).token
    for metadata, says in (((), "needs an access token"),
                           ((("authorization", f"Bearer {expired}"),), "expired"),
                           ((("authorization", "Bearer nonsense"),), "invalid")):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stack.orders.PlaceOrder(request, metadata=metadata)
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert says in (info.value.details() or "")
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stack.orders.PlaceOrder(
            pb.OrderRequest(user_id="bob", lines=request.lines), metadata=stack.alice)
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    mine = await stack.place((book, 1), user_id="carol", who=bearer(stack.issuer, "carol"))
    assert mine.user_id == "carol"
