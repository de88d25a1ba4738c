"""Retries on UNAVAILABLE, from the channel's service config, against servers that fail on cue.

Each fake service answers UNAVAILABLE a set number of times, then for real, and counts the
attempts it saw: so a test can tell a retried call from one tried once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import NoReturn

import grpc
import pytest

from client import BookstoreClient, ClientConfig, NotFoundError, ServiceUnavailableError
from contracts.bookstore.inventory.v1 import inventory_pb2 as inv
from contracts.bookstore.inventory.v1 import inventory_pb2_grpc as inv_grpc
from contracts.bookstore.orders.v1 import orders_pb2 as ord_
from contracts.bookstore.orders.v1 import orders_pb2_grpc as ord_grpc

pytestmark = pytest.mark.integration

BOOK_ID = "000000000000000000000000"


class FlakyInventory(inv_grpc.InventoryServiceServicer):
    """UNAVAILABLE for the first ``failures`` calls of each method, then NOT_FOUND."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.attempts: dict[str, int] = {}

    async def _answer(self, method: str, context: grpc.aio.ServicerContext[object, object]
                      ) -> NoReturn:
        self.attempts[method] = self.attempts.get(method, 0) + 1
        if self.attempts[method] <= self.failures:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "starting up")
        await context.abort(grpc.StatusCode.NOT_FOUND, "no such book")

    async def GetBookDetails(self, request: inv.BookIDRequest,
                             context: grpc.aio.ServicerContext[object, object]) -> inv.BookResponse:
        await self._answer("GetBookDetails", context)

    async def AddBook(self, request: inv.BookRequest,
                      context: grpc.aio.ServicerContext[object, object]) -> inv.BookResponse:
        await self._answer("AddBook", context)

    async def UpdateBook(self, request: inv.BookUpdateRequest,
                         context: grpc.aio.ServicerContext[object, object]) -> inv.BookResponse:
        await self._answer("UpdateBook", context)


class BrokenWatch(ord_grpc.OrderServiceServicer):
    """WatchOrder: the first stream sends PENDING, then breaks with UNAVAILABLE; the next
    sends PENDING again, then CONFIRMED."""

    def __init__(self) -> None:
        self.streams = 0

    async def WatchOrder(self, request: ord_.OrderIDRequest,
                         context: grpc.aio.ServicerContext[object, object]
                         ) -> AsyncIterator[ord_.OrderResponse]:
        self.streams += 1
        yield _reply(request.order_id, ord_.ORDER_STATUS_PENDING)
        if self.streams == 1:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "going away")
        yield _reply(request.order_id, ord_.ORDER_STATUS_CONFIRMED)


def _reply(order_id: str, status: ord_.OrderStatus.ValueType) -> ord_.OrderResponse:
    return ord_.OrderResponse(order=ord_.Order(id=order_id, status=status))


async def _serve(servicer: FlakyInventory | BrokenWatch) -> tuple[grpc.aio.Server, str]:
    server = grpc.aio.server()
    if isinstance(servicer, FlakyInventory):
        inv_grpc.add_InventoryServiceServicer_to_server(servicer, server)
    else:
        ord_grpc.add_OrderServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, f"127.0.0.1:{port}"


def _config(address: str, **changes: object) -> ClientConfig:
    return ClientConfig.from_env({
        "BOOKSTORE_INVENTORY_ADDR": address, "BOOKSTORE_ORDERS_ADDR": address,
    }).model_copy(update={"retry_attempts": 4, "retry_initial_wait": 0.01,
                          "retry_max_wait": 0.05, **changes})


@pytest.fixture
async def flaky() -> AsyncIterator[tuple[FlakyInventory, str]]:
    servicer = FlakyInventory(failures=2)  # type: ignore[abstract]  # unused RPCs
    server, address = await _serve(servicer)
    try:
        yield servicer, address
    finally:
        await server.stop(0)


async def test_reads_are_retried_until_the_service_answers(
        flaky: tuple[FlakyInventory, str]) -> None:
    servicer, address = flaky
    async with BookstoreClient(_config(address)) as bs:
        # Reaching the service for real is the point: it answers NOT_FOUND on the third try.
        with pytest.raises(NotFoundError):
            await bs.get_book(BOOK_ID)
    assert servicer.attempts["GetBookDetails"] == 3


async def test_retries_stop_at_the_configured_attempts(
        flaky: tuple[FlakyInventory, str]) -> None:
    servicer, address = flaky
    async with BookstoreClient(_config(address, retry_attempts=2)) as bs:
        with pytest.raises(ServiceUnavailableError):
            await bs.get_book(BOOK_ID)
    assert servicer.attempts["GetBookDetails"] == 2


async def test_calls_that_are_not_safe_to_repeat_are_not_retried(
        flaky: tuple[FlakyInventory, str]) -> None:
    servicer, address = flaky
    async with BookstoreClient(_config(address), token="t") as bs:
        with pytest.raises(ServiceUnavailableError):
            await bs.add_book(title="Once", author="Only", isbn="9780000000002",
                              price_cents=100, stock=1)
        with pytest.raises(ServiceUnavailableError):
            await bs.update_book(BOOK_ID, adjust_available=5)
        assert servicer.attempts == {"AddBook": 1, "UpdateBook": 1}
        # Setting fields is safe to repeat: retried like a read, it gets through the second
        # failure to the answer.
        with pytest.raises(NotFoundError):
            await bs.update_book(BOOK_ID, title="New title")
    assert servicer.attempts == {"AddBook": 1, "UpdateBook": 3}


async def test_a_watch_broken_after_answering_is_reopened() -> None:
    servicer = BrokenWatch()  # type: ignore[abstract]  # unused RPCs
    server, address = await _serve(servicer)
    try:
        async with BookstoreClient(_config(address), token="t") as bs:
            seen = [order.status async for order in bs.watch_order("order-1", deadline=10)]
    finally:
        await server.stop(0)
    assert seen == [ord_.ORDER_STATUS_PENDING, ord_.ORDER_STATUS_PENDING,
                    ord_.ORDER_STATUS_CONFIRMED]
    assert servicer.streams == 2
