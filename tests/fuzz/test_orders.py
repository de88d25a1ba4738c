"""Every OrderService RPC, fuzzed: no request yields INTERNAL or UNKNOWN, and the service
keeps serving afterwards. The real inventory service stands beside it for pricing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st
from pymongo import AsyncMongoClient

from contracts.bookstore.inventory.v1 import inventory_pb2 as inv
from contracts.bookstore.orders.v1 import orders_pb2 as pb
from inventory.events import EVENTS as INVENTORY_EVENTS
from inventory.isbn import isbn13_check_digit
from inventory.service import InventoryService
from inventory.store import BookStore
from orders.app import OrderParts, wire
from orders.catalogue import ReadModelCatalogue
from orders.catalogue_fill import CatalogueFill
from orders.catalogue_store import CatalogueStore
from orders.config import OrdersSettings
from orders.events import EVENTS
from orders.payments import SimulatedGateway
from orders.store import OrderStore
from runtime.auth import Role, TokenIssuer, TokenVerifier
from runtime.mongo import Document, make_client
from runtime.server import GrpcServer
from saga import Outbox
from tests.fuzz.harness import (
    FUZZ,
    NEVER,
    BackgroundLoop,
    Metadata,
    Rpc,
    Target,
    auth_headers,
    bearer,
    rpcs_of,
)
from tests.fuzz.messages import TEXT, page_tokens, requests

pytestmark = pytest.mark.integration

RPCS = rpcs_of(pb, "OrderService")
SERVICE_NAME = RPCS[0].service
INVENTORY = inv.DESCRIPTOR.services_by_name["InventoryService"].full_name
CUSTOMER = "fuzz-customer"


@dataclass
class Fuzzed:
    target: Target
    headers: list[Metadata]
    customer: Metadata
    book_ids: list[str]
    order_ids: list[str]
    page_tokens: list[str]


@dataclass
class Running:
    client: AsyncMongoClient[Document]
    servers: list[GrpcServer]
    catalog_channel: grpc.aio.Channel
    app: OrderParts
    fill: CatalogueFill

    async def close(self, names: list[str]) -> None:
        for server in self.servers:
            await server.stop(0)
        await self.app.watcher.close()
        await self.catalog_channel.close(None)
        for name in names:
            await self.client.drop_database(name)
        await self.client.close()


@pytest.fixture(scope="module")
def fuzzed(loop: BackgroundLoop, mongo_url: str) -> Iterator[Fuzzed]:
    names = [f"fuzz_orders_{uuid.uuid4().hex[:10]}", f"fuzz_inv_{uuid.uuid4().hex[:10]}"]
    key = Ed25519PrivateKey.generate()
    issuer = TokenIssuer(key, timedelta(minutes=30))
    verifier = TokenVerifier(key.public_key())

    async def start() -> Running:
        client = make_client(mongo_url)  # everything belongs to the loop it is made on
        orders_db, inventory_db = client[names[0]], client[names[1]]
        books = BookStore(inventory_db)
        await books.ensure_indexes()
        shelf_outbox = Outbox(inventory_db, INVENTORY_EVENTS)
        inventory = GrpcServer(
            "127.0.0.1:0", [InventoryService(books, shelf_outbox, verifier).binding()])
        await inventory.start()
        store = OrderStore(orders_db)
        await store.ensure_indexes()
        outbox = Outbox(orders_db, EVENTS)
        await outbox.ensure_indexes()
        channel = grpc.aio.insecure_channel(inventory.address)
        catalogue = CatalogueStore(orders_db)
        app = wire(store, outbox, ReadModelCatalogue(catalogue),
                   SimulatedGateway(orders_db, limit_cents=50_000), verifier,
                   OrdersSettings.load(order_timeout_seconds=600, order_sweep_seconds=60))
        orders = GrpcServer("127.0.0.1:0", [app.service.binding()])
        await orders.start()
        return Running(client, [orders, inventory], channel, app,
                       CatalogueFill(catalogue, channel, attempts=3))

    running = loop.run(start())
    admin = bearer(issuer.issue("fuzz-admin", Role.ADMIN).token)
    customer_token = issuer.issue(CUSTOMER, Role.CUSTOMER).token
    expired = issuer.issue(CUSTOMER, Role.CUSTOMER,
                           now=datetime.now(UTC) - timedelta(hours=2)).token
    target = Target(running.servers[0].address, SERVICE_NAME)
    shelf = Target(running.servers[1].address, INVENTORY)
    try:
        book_ids = []
        for n in range(1, 4):
            body = f"979{n:09d}"
            book_ids.append(shelf.unary("AddBook", inv.BookRequest(
                title=f"Book {n}", author="An Author", isbn=body + isbn13_check_digit(body),
                price_cents=500 * n, stock=1000), inv.BookResponse, admin).book.id)
        loop.run(running.fill.fill())  # orders learns the books as on a first start
        customer = bearer(customer_token)
        order_ids = [target.unary("PlaceOrder", pb.OrderRequest(
            lines=[pb.OrderLineRequest(book_id=book, quantity=1)], idempotency_key=f"k{n}",
            payment_token="tok_visa"), pb.OrderResponse, customer).order.id
            for n, book in enumerate(book_ids)]
        history = target.unary("GetOrderHistory", pb.UserIDRequest(page_size=1),
                               pb.OrderHistoryResponse, customer)
        yield Fuzzed(target, auth_headers([admin[0][1][7:], customer_token, expired]),
                     customer, book_ids, order_ids, [history.next_page_token])
    finally:
        target.close()
        shelf.close()
        loop.run(running.close(names))


@pytest.mark.parametrize("rpc", RPCS, ids=lambda rpc: rpc.name)
def test_no_request_breaks_the_service(fuzzed: Fuzzed, rpc: Rpc) -> None:
    hints = {"book_id": st.sampled_from(fuzzed.book_ids) | TEXT,
             "order_id": st.sampled_from(fuzzed.order_ids) | TEXT,
             "user_id": st.sampled_from([CUSTOMER, "fuzz-admin", "someone-else"]) | TEXT,
             "idempotency_key": st.sampled_from(["k0", "k1", "fresh"]) | TEXT,
             "payment_token": st.sampled_from(["tok_visa", "tok_declined"]) | TEXT,
             "page_token": page_tokens(fuzzed.page_tokens)}

    @FUZZ
    @given(request=requests(rpc.request_type, hints),
           metadata=st.sampled_from(fuzzed.headers))
    def call(request: object, metadata: Metadata) -> None:
        code = fuzzed.target.call(rpc, request, metadata)  # type: ignore[arg-type]
        assert code not in NEVER, f"{rpc.name} answered {code.name} to {request!r}"

    call()
    assert fuzzed.target.serving()
    history = fuzzed.target.unary("GetOrderHistory", pb.UserIDRequest(page_size=100),
                                  pb.OrderHistoryResponse, fuzzed.customer)
    assert fuzzed.order_ids[0] in {order.id for order in history.orders}
