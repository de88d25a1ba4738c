"""The whole saga in-process over a real broker: orders and inventory as saga participants."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from contracts.bookstore.inventory.v1 import inventory_pb2 as inv
from contracts.bookstore.orders.v1 import orders_pb2 as pb
from tests.integration.orders.conftest import Stack, running_saga

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


async def test_order_is_reserved_paid_and_sold(saga: Stack) -> None:
    book = await saga.add_book(stock=3)
    order = await saga.place((book, 2), payment_token="tok_visa")
    assert await watch_until_settled(saga, order.id) == [S.ORDER_STATUS_PENDING,
                                                         S.ORDER_STATUS_CONFIRMED]
    async with asyncio.timeout(10):
        while True:  # the sale lands in inventory once it has consumed OrderConfirmed
            details = (await saga.inventory.GetBookDetails(inv.BookIDRequest(book_id=book))).book
            if details.sold == 2:
                break
            await asyncio.sleep(0.05)
    assert (details.available, details.reserved) == (1, 0)


async def test_declined_payment_releases_the_stock(saga: Stack) -> None:
    book = await saga.add_book(stock=3)
    order = await saga.place((book, 3), payment_token="tok_declined")
    assert (await watch_until_settled(saga, order.id))[-1] == S.ORDER_STATUS_CANCELLED
    async with asyncio.timeout(10):
        while True:
            details = (await saga.inventory.GetBookDetails(inv.BookIDRequest(book_id=book))).book
            if details.available == 3:
                break
            await asyncio.sleep(0.05)
    assert (details.reserved, details.sold) == (0, 0)
