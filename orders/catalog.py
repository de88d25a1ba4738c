"""Asking inventory about books over gRPC: the price and title snapshot for new orders.

Every call has a deadline; UNAVAILABLE and DEADLINE_EXCEEDED are retried a few times with
backoff (an inventory restart takes a moment), everything else is answered at once. Errors
leave here as the order service's own: NOT_FOUND names the book, UNAVAILABLE says who is away.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Protocol

import grpc

from contracts.bookstore.inventory.v1 import inventory_pb2 as inv
from contracts.bookstore.inventory.v1 import inventory_pb2_grpc as inv_grpc
from orders.pricing import BookInfo
from runtime.errors import NotFound, Unavailable
from saga import Backoff

log = logging.getLogger(__name__)

RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


class Catalog(Protocol):
    async def books(self, book_ids: Iterable[str]) -> dict[str, BookInfo]:
        """Every named book; raises NotFound for the first that does not exist."""


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, grpc.aio.AioRpcError) and exc.code() in RETRYABLE


class InventoryCatalog:
    """:class:`Catalog` over the inventory service's ``GetBookDetails``."""

    def __init__(self, channel: grpc.aio.Channel, *, deadline: float = 2.0, attempts: int = 3,
                 initial_wait: float = 0.1) -> None:
        self._stub = inv_grpc.InventoryServiceStub(channel)
        self._deadline = deadline
        self._attempts = attempts
        self._backoff = Backoff(initial=initial_wait, maximum=1.0)

    async def books(self, book_ids: Iterable[str]) -> dict[str, BookInfo]:
        found = await asyncio.gather(*(self.book(book_id) for book_id in book_ids))
        return {book.id: book for book in found}

    async def book(self, book_id: str) -> BookInfo:
        retrying = self._backoff.retrying(self._attempts, retry_if=_retryable)
        try:
            async for attempt in retrying:
                with attempt:
                    response = await self._stub.GetBookDetails(
                        inv.BookIDRequest(book_id=book_id), timeout=self._deadline)
        except grpc.aio.AioRpcError as exc:
            raise _translate(book_id, exc) from exc
        book = response.book
        # Inventory answers with its own id for the book; keep the caller's so lines match.
        return BookInfo(id=book_id, title=book.title, price_cents=book.price_cents,
                        available=book.available)


def _translate(book_id: str, exc: grpc.aio.AioRpcError) -> Exception:
    code = exc.code()
    if code == grpc.StatusCode.NOT_FOUND:
        return NotFound(f"book {book_id} does not exist")
    if code in RETRYABLE:
        log.warning("inventory unavailable", extra={"book_id": book_id, "code": code.name})
        return Unavailable("the inventory service is unavailable, so the order cannot be "
                           "priced; try again shortly")
    log.error("inventory call failed",
              extra={"book_id": book_id, "code": code.name, "detail": exc.details()})
    return Unavailable(f"the inventory service failed to price book {book_id}; try again")
