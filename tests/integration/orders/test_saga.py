"""The whole saga in-process over a real broker: orders and inventory as saga participants."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from contracts.bookstore.inventory.v1 import inventory_pb2 as inv
from contracts.bookstore.orders.v1 import orders_pb2 as pb
from tests.integration.orders.conftest import Stack, running_saga
from tests.waiting import eventually

pytestmark = pytest.mark.integration
S = pb.OrderStatus


@pytest.fixture
async def saga(stack: Stack, amqp_url: str) -> AsyncIterator[Stack]:
    async with running_saga(stack, amqp_url, stack.handlers):
        yield stack


async def watch_until_settled(stack: Stack, order_id: str) -> list[int]:
    seen: list[int] = []
    async with asyncio.timeout(20):
        async for response in stack.orders.WatchOrder(pb.OrderIDRequest(order_id=order_id),
                                                      metadata=stack.alice):
            seen.append(response.order.status)
            if response.order.status != S.ORDER_STATUS_PENDING:
                break
    return seen


async def book_when(saga: Stack, book_id: str, accept: Callable[[inv.Book], bool]) -> inv.Book:
    """The book once ``accept`` holds for it: inventory applies the saga's steps in its time."""

    async def accepted() -> inv.Book | None:
        reply = await saga.inventory.GetBookDetails(inv.BookIDRequest(book_id=book_id))
        return reply.book if accept(reply.book) else None

    return await eventually(accepted, 10, what=f"book {book_id} as the test expects")


async def test_order_is_reserved_paid_and_sold(saga: Stack) -> None:
    book = await saga.add_book(stock=3)
    order = await saga.place((book, 2), payment_token="tok_visa")
    assert await watch_until_settled(saga, order.id) == [S.ORDER_STATUS_PENDING,
                                                         S.ORDER_STATUS_CONFIRMED]
    # The sale lands in inventory once it has consumed OrderConfirmed.
    details = await book_when(saga, book, lambda details: details.sold == 2)
    assert (details.available, details.reserved) == (1, 0)


async def test_declined_payment_releases_the_stock(saga: Stack) -> None:
    book = await saga.add_book(stock=3)
    order = await saga.place((book, 3), payment_token="tok_declined")
    assert (await watch_until_settled(saga, order.id))[-1] == S.ORDER_STATUS_CANCELLED
    details = await book_when(saga, book, lambda details: details.available == 3)
    assert (details.reserved, details.sold) == (0, 0)
