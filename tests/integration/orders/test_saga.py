"""The whole saga in-process over a real broker: orders and inventory as saga participants."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import pytest

from contracts.bookstore.inventory.v1 import inventory_pb2 as inv
from contracts.bookstore.orders.v1 import orders_pb2 as pb
from inventory.handlers import InventoryHandlers
from inventory.handlers import subscriptions as inventory_subscriptions
from inventory.stock import StockLedger
from inventory.stock_store import StockStore
from orders.handlers import subscriptions as order_subscriptions
from saga import Backoff, SagaParticipant
from tests.integration.orders.conftest import Stack

pytestmark = pytest.mark.integration
S = pb.OrderStatus


@pytest.fixture
async def saga(stack: Stack, amqp_url: str) -> AsyncIterator[Stack]:
    prefix = f"test.orders.{uuid.uuid4().hex[:8]}"
    fast: dict[str, Any] = {"prefix": prefix, "relay_poll_interval": 0.1,
                            "retry_backoff": Backoff(initial=0.02, maximum=0.2)}
    async with SagaParticipant(service="inventory", db=stack.inventory_db, amqp_url=amqp_url,
                               subscriptions=inventory_subscriptions(
                                   InventoryHandlers(StockLedger(StockStore(stack.inventory_db)))),
                               **fast), \
            SagaParticipant(service="orders", db=stack.db, amqp_url=amqp_url,
                            subscriptions=order_subscriptions(stack.handlers), **fast):
        yield stack
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        for service in ("orders", "inventory"):
            for name in (f"{prefix}.{service}", f"{prefix}.{service}.dead"):
                await channel.queue_delete(name)
            await channel.exchange_delete(f"{prefix}.{service}.dead")
        await channel.exchange_delete(f"{prefix}.events")


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
