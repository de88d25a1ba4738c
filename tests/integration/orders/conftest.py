"""The order servicer in-process on a real port, with the real inventory servicer beside it.

Both talk to real MongoDB (a fresh database each) through real channels. Saga reactions are
driven through ``Outbox.run`` here, as the consumer drives them; ``test_saga.py`` adds the
broker. Catalogue events inventory stores in its outbox are handed to orders the same way,
so a book added here is known to orders when ``add_book`` returns.
"""

from __future__ import annotations

import contextlib
import itertools
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aio_pika
import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf.message import Message
from pymongo.asynchronous.database import AsyncDatabase

from contracts.bookstore.events.v1 import events_pb2 as ev
from contracts.bookstore.inventory.v1 import inventory_pb2 as inv
from contracts.bookstore.inventory.v1 import inventory_pb2_grpc as inv_grpc
from contracts.bookstore.orders.v1 import orders_pb2 as pb
from contracts.bookstore.orders.v1 import orders_pb2_grpc as pb_grpc
from inventory.events import EVENTS as INVENTORY_EVENTS
from inventory.handlers import InventoryHandlers
from inventory.handlers import subscriptions as inventory_subscriptions
from inventory.isbn import isbn13_check_digit
from inventory.service import InventoryService
from inventory.stock import StockLedger
from inventory.stock_store import StockStore
from inventory.store import BookStore
from orders.app import OrderParts, wire
from orders.catalogue import CatalogueHandlers, ReadModelCatalogue
from orders.catalogue_fill import CatalogueFill
from orders.catalogue_store import CatalogueStore
from orders.config import OrdersSettings
from orders.events import EVENTS
from orders.handlers import OrderHandlers, subscriptions
from orders.payments import SimulatedGateway
from orders.store import OrderStore
from runtime.auth import Role, TokenIssuer, TokenVerifier
from runtime.mongo import Document, make_client
from runtime.server import GrpcServer
from saga import Backoff, Outbox, SagaParticipant, UnitOfWork

pytestmark = pytest.mark.integration

Metadata = tuple[tuple[str, str], ...]


def bearer(issuer: TokenIssuer, user_id: str, role: Role = Role.CUSTOMER) -> Metadata:
    return (("authorization", f"Bearer {issuer.issue(user_id, role).token}"),)


@dataclass
class Stack:
    orders: pb_grpc.OrderServiceAsyncStub
    inventory: inv_grpc.InventoryServiceAsyncStub
    issuer: TokenIssuer
    admin: Metadata
    alice: Metadata
    bob: Metadata
    app: OrderParts
    outbox: Outbox
    handlers: OrderHandlers
    catalogue: CatalogueHandlers
    gateway: SimulatedGateway
    db: AsyncDatabase[Document]
    inventory_db: AsyncDatabase[Document]
    inventory_server: GrpcServer
    verifier: TokenVerifier

    async def add_book(self, title: str = "A Book", price_cents: int = 1000,
                       stock: int = 5, *, tell_orders: bool = True) -> str:
        """Add a book in inventory and, unless told not to, deliver its ``BookAdded``."""
        response = await self.inventory.AddBook(
            inv.BookRequest(title=title, author="An Author", isbn=fresh_isbn(),
                            price_cents=price_cents, stock=stock), metadata=self.admin)
        if tell_orders:
            await self.deliver_catalogue_events()
        return response.book.id

    async def change_price(self, book_id: str, price_cents: int) -> None:
        """Reprice a book in inventory and deliver its ``BookChanged`` to orders."""
        await self.inventory.UpdateBook(
            inv.BookUpdateRequest(book_id=book_id, price_cents=price_cents),
            metadata=self.admin)
        await self.deliver_catalogue_events()

    async def deliver_catalogue_events(self) -> None:
        """Deliver every catalogue event inventory stored that orders has not had yet."""
        found = await self.inventory_db["outbox"].find(
            {"name": {"$in": ["BookAdded", "BookChanged"]}, "delivered": {"$ne": True}}
        ).sort("created_at", 1).to_list()
        for record in found:
            await self.deliver(_type(record["name"]).FromString(record["payload"]))
            await self.inventory_db["outbox"].update_one(
                {"_id": record["_id"]}, {"$set": {"delivered": True}})

    async def place(self, *lines: tuple[str, int], who: Metadata | None = None,
                    **fields: Any) -> pb.Order:
        request = pb.OrderRequest(
            lines=[pb.OrderLineRequest(book_id=b, quantity=q) for b, q in lines], **fields)
        return (await self.orders.PlaceOrder(request, metadata=who or self.alice)).order

    async def deliver(self, event: Message) -> None:
        """Handle ``event`` as the consumer would: its outside phase with no transaction
        open, then its handler in one outbox transaction."""
        subscription = subscriptions(self.handlers, self.catalogue).get(event.DESCRIPTOR.name)
        assert subscription is not None
        outcome = None if subscription.outside is None else await subscription.outside(event)

        async def work(uow: UnitOfWork) -> None:
            await subscription.settle(event, outcome, uow)

        await self.outbox.run(work)

    async def emitted(self, order_id: str) -> list[Message]:
        """Events stored in the outbox for ``order_id``, oldest first."""
        found = await self.db["outbox"].find({"correlation_id": order_id}).sort(
            "created_at", 1).to_list()
        return [_type(d["name"]).FromString(d["payload"]) for d in found]

    async def status(self, order_id: str) -> int:
        response = await self.orders.GetOrderStatus(pb.OrderIDRequest(order_id=order_id),
                                                    metadata=self.admin)
        return response.order.status


def _type(name: str) -> type[Message]:
    found = EVENTS.type_of(name) or INVENTORY_EVENTS.type_of(name)
    assert found is not None, name
    return found


_isbns = itertools.count(uuid.uuid4().int % 10**8)


def fresh_isbn() -> str:
    body = f"9791{next(_isbns) % 10**8:08d}"
    return body + isbn13_check_digit(body)


def reserved(order: pb.Order) -> ev.StockReserved:
    return ev.StockReserved(order_id=order.id, lines=[
        ev.OrderLineItem(book_id=line.book_id, quantity=line.quantity) for line in order.lines])


@pytest.fixture
async def stack(mongo_url: str) -> AsyncIterator[Stack]:
    client = make_client(mongo_url)
    names = [f"test_orders_{uuid.uuid4().hex[:10]}", f"test_inv_{uuid.uuid4().hex[:10]}"]
    orders_db, inventory_db = client[names[0]], client[names[1]]
    key = Ed25519PrivateKey.generate()
    issuer = TokenIssuer(key, timedelta(minutes=10))
    verifier = TokenVerifier(key.public_key())

    books = BookStore(inventory_db)
    await books.ensure_indexes()
    inventory_outbox = Outbox(inventory_db, INVENTORY_EVENTS)
    await inventory_outbox.ensure_indexes()
    inventory_server = GrpcServer(
        "127.0.0.1:0", [InventoryService(books, inventory_outbox, verifier).binding()])
    await inventory_server.start()

    store = OrderStore(orders_db)
    await store.ensure_indexes()
    outbox = Outbox(orders_db, EVENTS)
    await outbox.ensure_indexes()
    gateway = SimulatedGateway(orders_db, limit_cents=50_000)
    inventory_channel = grpc.aio.insecure_channel(inventory_server.address)
    catalogue = CatalogueStore(orders_db)
    await CatalogueFill(catalogue, inventory_channel, attempts=3).fill()  # as on a first start
    app = wire(store, outbox, ReadModelCatalogue(catalogue), gateway, verifier,
               OrdersSettings.load(order_timeout_seconds=60, order_sweep_seconds=1))
    orders_server = GrpcServer("127.0.0.1:0", [app.service.binding()])
    await orders_server.start()
    try:
        async with grpc.aio.insecure_channel(orders_server.address) as channel, \
                grpc.aio.insecure_channel(inventory_server.address) as admin_channel:
            yield Stack(
                orders=pb_grpc.OrderServiceStub(channel),
                inventory=inv_grpc.InventoryServiceStub(admin_channel), issuer=issuer,
                admin=bearer(issuer, "admin-1", Role.ADMIN), alice=bearer(issuer, "alice"),
                bob=bearer(issuer, "bob"), app=app, outbox=outbox,
                handlers=OrderHandlers(store, gateway), catalogue=CatalogueHandlers(catalogue),
                gateway=gateway, db=orders_db,
                inventory_db=inventory_db,
                inventory_server=inventory_server, verifier=verifier)
    finally:
        await orders_server.stop(0)
        await app.watcher.close()
        await inventory_server.stop(0)
        await inventory_channel.close(None)
        for name in names:
            await client.drop_database(name)
        await client.close()


@contextlib.asynccontextmanager
async def running_saga(stack: Stack, amqp_url: str, handlers: OrderHandlers,
                       inventory: InventoryHandlers | None = None,
                       **options: Any) -> AsyncIterator[tuple[SagaParticipant, SagaParticipant]]:
    """Inventory and orders as saga participants on the real broker, under a fresh prefix
    (deleted afterwards); orders reacts through ``handlers``, inventory through
    ``inventory`` (by default its own). Yields both participants."""
    prefix = f"test.orders.{uuid.uuid4().hex[:8]}"
    fast: dict[str, Any] = {"prefix": prefix, "relay_poll_interval": 0.1,
                            "retry_backoff": Backoff(initial=0.02, maximum=0.2), **options}
    async with SagaParticipant(service="inventory", db=stack.inventory_db, amqp_url=amqp_url,
                               subscriptions=inventory_subscriptions(inventory or
                                   InventoryHandlers(StockLedger(StockStore(stack.inventory_db)))),
                               events=INVENTORY_EVENTS, **fast) as inventory_saga, \
            SagaParticipant(service="orders", db=stack.db, amqp_url=amqp_url,
                            subscriptions=subscriptions(handlers, stack.catalogue), events=EVENTS,
                            **fast) as orders_saga:
        yield inventory_saga, orders_saga
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        for service in ("orders", "inventory"):
            for name in (f"{prefix}.{service}", f"{prefix}.{service}.dead"):
                await channel.queue_delete(name)
            await channel.exchange_delete(f"{prefix}.{service}.dead")
        await channel.exchange_delete(f"{prefix}.events")
