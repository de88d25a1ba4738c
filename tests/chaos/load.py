"""A steady stream of orders from several customers, through the client library, while a
fault happens.

Each customer places an order, pauses, and places another, until told to stop or out of
orders. A transient failure (the service, or one of its dependencies, is away) is counted and
the placement retried with the same idempotency key, so an order the service stored before the
failure is found again rather than placed twice. Anything else fails the test.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import grpc

from client import BookstoreClient, BookstoreClientError, FailedPreconditionError, OrderLine
from tests.stack import Stack

CUSTOMERS = 4
ORDERS_PER_CUSTOMER = 100  # an upper bound: the stream usually stops well before
PACE_SECONDS = 0.25  # between one customer's orders: shapes the load, synchronises nothing
RETRY_PAUSE_SECONDS = 0.3
PLACEMENT_TRIES = 40  # with the pause, outlasts any outage the scenarios cause
# Faults show up as UNAVAILABLE (a service or its database is away) or as a missed deadline;
# both are worth retrying with the same key. INTERNAL is a bug, and fails the test.
TRANSIENT = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})
# Mostly approved; some declined (the order is cancelled and its stock released) and some
# that fail once at the gateway before going through.
PAYMENT_TOKENS = ("tok_visa",) * 8 + ("tok_declined", "tok_transient")


@dataclass
class LoadReport:
    accepted: list[str] = field(default_factory=list)  # order ids the service returned
    refused: int = 0  # FAILED_PRECONDITION at placement: none expected, stock is not checked
    abandoned: int = 0  # still failing after every try: the order may or may not exist
    transient: Counter[str] = field(default_factory=Counter)  # by status code name


class OrderStream:
    """Customers ordering the given books until :meth:`stop`."""

    def __init__(self, stack: Stack, books: Sequence[str], *, seed: int = 7) -> None:
        self._stack = stack
        self._books = list(books)
        self._random = random.Random(seed)
        self._stopping = asyncio.Event()
        self._grew = asyncio.Condition()
        self.report = LoadReport()
        self.failure: BaseException | None = None
        self.finished = False

    def stop(self) -> None:
        self._stopping.set()

    async def wait_for_orders(self, count: int, within: float = 60) -> None:
        """Until ``count`` orders in all were accepted: proof that orders are flowing."""
        async with asyncio.timeout(within), self._grew:
            await self._grew.wait_for(lambda: self.failure is not None or self.finished
                                      or len(self.report.accepted) >= count)
        if self.failure is not None:
            raise AssertionError("the order stream failed") from self.failure
        assert len(self.report.accepted) >= count, "the stream ran out before that many"

    async def run(self) -> None:
        customers: list[BookstoreClient] = []
        try:
            customers += [await self._customer(i) for i in range(CUSTOMERS)]
            await asyncio.gather(*(self._keep_ordering(c) for c in customers))
        except Exception as exc:
            self.failure = exc
            raise
        finally:
            self.finished = True
            async with self._grew:  # wake anyone waiting for orders that will not come
                self._grew.notify_all()
            for customer in customers:
                await customer.close()

    async def _customer(self, number: int) -> BookstoreClient:
        client = BookstoreClient.from_env(self._stack.env)
        email = f"chaos-{number}-{uuid.uuid4().hex[:8]}@chaos.example"
        await client.register(f"Chaos Customer {number}", email, "a long password")
        await client.login(email, "a long password")
        return client

    async def _keep_ordering(self, client: BookstoreClient) -> None:
        for _ in range(ORDERS_PER_CUSTOMER):
            if self._stopping.is_set():
                return
            books = self._random.sample(self._books, k=self._random.choice((1, 1, 2)))
            lines = [OrderLine(book, self._random.choice((1, 1, 2))) for book in books]
            await self._place(client, lines, self._random.choice(PAYMENT_TOKENS))
            await asyncio.sleep(PACE_SECONDS)

    async def _place(self, client: BookstoreClient, lines: list[OrderLine], token: str) -> None:
        key = uuid.uuid4().hex
        for _ in range(PLACEMENT_TRIES):
            try:
                order = await client.place_order(lines, payment_token=token, idempotency_key=key)
            except FailedPreconditionError:
                self.report.refused += 1
                return
            except BookstoreClientError as exc:
                if exc.code is None or exc.code not in TRANSIENT:
                    raise
                self.report.transient[exc.code.name] += 1
                await asyncio.sleep(RETRY_PAUSE_SECONDS)
                continue
            async with self._grew:
                self.report.accepted.append(order.id)
                self._grew.notify_all()
            return
        self.report.abandoned += 1


@asynccontextmanager
async def order_stream(stack: Stack, books: Sequence[str]) -> AsyncIterator[OrderStream]:
    """Orders flow while the block runs; on leaving, the stream stops and is awaited."""
    stream = OrderStream(stack, books)
    running = asyncio.create_task(stream.run(), name="order-stream")
    try:
        yield stream
    finally:
        stream.stop()
        await running
