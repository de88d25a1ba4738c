"""PlaceOrder over a real channel: pricing from inventory, validation, auth, idempotency."""

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


async def test_order_is_priced_by_inventory_and_starts_the_saga(stack: Stack) -> None:
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


async def test_more_than_available_fails_fast(stack: Stack) -> None:
    book = await stack.add_book("Scarce", stock=2)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stack.place((book, 3))
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "only 2 copies of 'Scarce'" in (info.value.details() or "")
    assert await stack.db["orders"].count_documents({}) == 0


async def test_inventory_down_is_unavailable(stack: Stack) -> None:
    book = await stack.add_book()
    await stack.inventory_server.stop(0)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stack.place((book, 1))
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "inventory service is unavailable" in (info.value.details() or "")


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
