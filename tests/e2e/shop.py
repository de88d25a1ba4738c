"""Talking to the running stack as its users do: plain gRPC stubs over loopback."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import grpc

from contracts.bookstore.inventory.v1 import inventory_pb2 as inv
from contracts.bookstore.inventory.v1 import inventory_pb2_grpc as inv_grpc
from contracts.bookstore.orders.v1 import orders_pb2 as pb
from contracts.bookstore.orders.v1 import orders_pb2_grpc as pb_grpc
from contracts.bookstore.user.v1 import user_pb2 as users
from contracts.bookstore.user.v1 import user_pb2_grpc as users_grpc
from inventory.isbn import isbn13_check_digit
from runtime.mongo import make_client
from tests.stack import ADMIN_EMAIL, ADMIN_PASSWORD, Stack
from tests.waiting import eventually

Metadata = tuple[tuple[str, str], ...]
S = pb.OrderStatus
SETTLED = frozenset({S.ORDER_STATUS_CONFIRMED, S.ORDER_STATUS_REJECTED,
                     S.ORDER_STATUS_CANCELLED, S.ORDER_STATUS_COMPLETED})
_isbns = itertools.count(uuid.uuid4().int % 10**7)
# How long a book just added may take to reach orders' catalogue (its BookAdded event).
CATALOGUE_LAG = 15.0


def fresh_isbn() -> str:
    body = f"97981{next(_isbns) % 10**7:07d}"
    return body + isbn13_check_digit(body)


def bearer(token: str) -> Metadata:
    return (("authorization", f"Bearer {token}"),)


@dataclass
class Shop:
    users: users_grpc.UserServiceAsyncStub
    inventory: inv_grpc.InventoryServiceAsyncStub
    orders: pb_grpc.OrderServiceAsyncStub
    admin: Metadata
    stack: Stack | None = None
    """With the stack, :meth:`add_book` returns once orders can price the book."""

    async def login(self, email: str, password: str) -> Metadata:
        reply = await self.users.AuthenticateUser(
            users.UserAuthRequest(email=email, password=password), timeout=10)
        return bearer(reply.access_token)

    async def customer(self, name: str = "Customer") -> tuple[str, Metadata]:
        """Register a new customer and log in; returns (user id, metadata)."""
        email = f"{uuid.uuid4().hex[:12]}@e2e.example"
        created = await self.users.CreateUser(
            users.UserRequest(name=name, email=email, password="a long password"), timeout=10)
        return created.user.id, await self.login(email, "a long password")

    async def add_book(self, title: str, price_cents: int, stock: int) -> str:
        reply = await self.inventory.AddBook(inv.BookRequest(
            title=title, author="E2E Author", isbn=fresh_isbn(), price_cents=price_cents,
            stock=stock), metadata=self.admin, timeout=10)
        if self.stack is not None:
            await until_orders_know(self.stack, [reply.book.id])
        return reply.book.id

    async def book(self, book_id: str) -> inv.Book:
        reply = await self.inventory.GetBookDetails(inv.BookIDRequest(book_id=book_id),
                                                    timeout=10)
        return reply.book

    async def place(self, who: Metadata, lines: Sequence[tuple[str, int]],
                    payment_token: str = "tok_visa") -> pb.Order:
        reply = await self.orders.PlaceOrder(pb.OrderRequest(
            lines=[pb.OrderLineRequest(book_id=b, quantity=q) for b, q in lines],
            payment_token=payment_token), metadata=who, timeout=15)
        return reply.order

    async def order(self, order_id: str) -> pb.Order:
        reply = await self.orders.GetOrderStatus(pb.OrderIDRequest(order_id=order_id),
                                                 metadata=self.admin, timeout=10)
        return reply.order

    async def settle(self, order_ids: Collection[str], within: float) -> dict[str, pb.Order]:
        """Poll until every order has left PENDING; fails after ``within`` seconds."""
        settled: dict[str, pb.Order] = {}

        async def all_settled() -> bool:
            waiting = [i for i in order_ids if i not in settled]
            for order in await asyncio.gather(*(self.order(i) for i in waiting)):
                if order.status in SETTLED:
                    settled[order.id] = order
            return len(settled) == len(order_ids)

        await eventually(all_settled, within, interval=0.2,
                         what=f"every one of {len(order_ids)} orders settled")
        return settled

    async def quiet_stock(self, book_id: str, within: float = 30) -> inv.Book:
        """The book once nothing is held for it any more (every saga has finished with it)."""
        return await self.book_when(book_id, lambda book: book.reserved == 0, within)

    async def book_when(self, book_id: str, accept: Callable[[inv.Book], bool],
                        within: float = 30) -> inv.Book:
        """Poll the book (it lives in another process) until ``accept`` holds, or fail."""
        async def accepted() -> inv.Book | None:
            book = await self.book(book_id)
            return book if accept(book) else None

        return await eventually(accepted, within, interval=0.2,
                                what=f"book {book_id} as the test expects")

    async def invariant_violations(self) -> list[inv.StockInvariantViolation]:
        reply = await self.inventory.CheckStockInvariant(inv.StockInvariantRequest(),
                                                         metadata=self.admin, timeout=30)
        return list(reply.violations)


async def until_orders_know(stack: Stack, book_ids: Collection[str],
                            within: float = CATALOGUE_LAG) -> None:
    """Wait until every book is in orders' catalogue read model (its ``BookAdded`` arrived):
    right after AddBook, orders may not have heard of the book yet and answers NOT_FOUND."""
    client = make_client(stack.env["BOOKSTORE_MONGO_URL"])
    catalogue = client[stack.env["BOOKSTORE_ORDERS_MONGO_DB"]]["catalogue"]
    wanted = {"_id": {"$in": list(book_ids)}}

    async def all_known() -> bool:
        return await catalogue.count_documents(wanted) >= len(set(book_ids))

    try:
        await eventually(all_known, within, what="orders' catalogue holding every book")
    finally:
        await client.close()


async def until_orders_know_every_book(stack: Stack) -> None:
    """Wait until orders' catalogue holds every book inventory has (after a bulk import)."""
    client = make_client(stack.env["BOOKSTORE_MONGO_URL"])
    try:
        books = client[stack.env["BOOKSTORE_INVENTORY_MONGO_DB"]]["books"]
        ids = [str(doc["_id"]) async for doc in books.find({}, {"_id": 1})]
    finally:
        await client.close()
    await until_orders_know(stack, ids)


@asynccontextmanager
async def open_shop(stack: Stack) -> AsyncIterator[Shop]:
    async with grpc.aio.insecure_channel(stack.addresses["user"]) as user_channel, \
            grpc.aio.insecure_channel(stack.addresses["inventory"]) as inventory_channel, \
            grpc.aio.insecure_channel(stack.addresses["orders"]) as orders_channel:
        shop = Shop(users_grpc.UserServiceStub(user_channel),
                    inv_grpc.InventoryServiceStub(inventory_channel),
                    pb_grpc.OrderServiceStub(orders_channel), admin=(), stack=stack)
        shop.admin = await shop.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        yield shop
