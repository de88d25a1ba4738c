"""The inventory servicer in-process on a real port, reached through a real channel."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pymongo.asynchronous.database import AsyncDatabase

from contracts.bookstore.inventory.v1 import inventory_pb2 as pb
from contracts.bookstore.inventory.v1 import inventory_pb2_grpc as pb_grpc
from inventory.cache import BookCache
from inventory.events import EVENTS
from inventory.isbn import isbn13_check_digit
from inventory.service import InventoryService
from inventory.store import BookStore
from runtime.auth import Role, TokenIssuer, TokenVerifier
from runtime.mongo import Document
from runtime.server import GrpcServer
from saga import Outbox

pytestmark = pytest.mark.integration

Metadata = tuple[tuple[str, str], ...]


@dataclass
class Client:
    """A stub plus the metadata each kind of caller sends."""

    stub: pb_grpc.InventoryServiceAsyncStub
    admin: Metadata
    customer: Metadata
    db: AsyncDatabase[Document]

    async def add(self, **fields: Any) -> pb.Book:
        defaults: dict[str, Any] = {"title": "A Book", "author": "An Author",
                                    "price_cents": 1000, "stock": 5}
        response = await self.stub.AddBook(pb.BookRequest(**(defaults | fields)),
                                           metadata=self.admin)
        return response.book


def bearer(issuer: TokenIssuer, role: Role) -> Metadata:
    return (("authorization", f"Bearer {issuer.issue('u-' + role.value, role).token}"),)


@pytest.fixture
async def client(mongo_db: AsyncDatabase[Document]) -> AsyncIterator[Client]:
    key = Ed25519PrivateKey.generate()
    issuer = TokenIssuer(key, timedelta(minutes=10))
    store = BookStore(mongo_db)
    await store.ensure_indexes()
    async with BookCache(store) as cache:  # as deployed: every read test covers the cache
        await asyncio.wait_for(cache.wait_live(), 10)
        service = InventoryService(store, Outbox(mongo_db, EVENTS), TokenVerifier(key.public_key()),
                                   cache)
        server = GrpcServer("127.0.0.1:0", [service.binding()])
        await server.start()
        try:
            async with grpc.aio.insecure_channel(server.address) as channel:
                yield Client(pb_grpc.InventoryServiceStub(channel),
                             bearer(issuer, Role.ADMIN), bearer(issuer, Role.CUSTOMER),
                             mongo_db)
        finally:
            await server.stop(0)


_isbn_counter = iter(range(10**6))


def fresh_isbn() -> str:
    """A valid ISBN-13 no other book in the test has."""
    body = f"979{next(_isbn_counter):09d}"
    return body + isbn13_check_digit(body)
