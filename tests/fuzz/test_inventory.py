"""Every InventoryService RPC, fuzzed: no request yields INTERNAL or UNKNOWN, and the service
keeps serving afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st
from pymongo import AsyncMongoClient

from contracts.bookstore.inventory.v1 import inventory_pb2 as pb
from inventory.events import EVENTS
from inventory.isbn import isbn13_check_digit
from inventory.service import InventoryService
from inventory.store import BookStore
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
    rpcs_of,
)
from tests.fuzz.messages import TEXT, page_tokens, requests

pytestmark = pytest.mark.integration

RPCS = rpcs_of(pb, "InventoryService")
SERVICE_NAME = RPCS[0].service


@dataclass
class Fuzzed:
    target: Target
    headers: list[Metadata]
    book_ids: list[str]
    page_tokens: list[str]


def _isbn(n: int) -> str:
    body = f"979{n:09d}"
    return body + isbn13_check_digit(body)


@pytest.fixture(scope="module")
def fuzzed(loop: BackgroundLoop, mongo_url: str) -> Iterator[Fuzzed]:
    name = f"fuzz_inventory_{uuid.uuid4().hex[:10]}"
    key = Ed25519PrivateKey.generate()
    issuer = TokenIssuer(key, timedelta(minutes=30))

    async def start() -> tuple[AsyncMongoClient[Document], GrpcServer]:
        client = make_client(mongo_url)  # both belong to the loop they are made on
        store = BookStore(client[name])
        await store.ensure_indexes()
        server = GrpcServer("127.0.0.1:0", [
            InventoryService(store, Outbox(client[name], EVENTS), TokenVerifier(key.public_key())
                             ).binding()])
        await server.start()
        return client, server

    client, server = loop.run(start())
    admin = issuer.issue("fuzz-admin", Role.ADMIN).token
    customer = issuer.issue("fuzz-customer", Role.CUSTOMER).token
    expired = issuer.issue("fuzz-admin", Role.ADMIN,
                           now=datetime.now(UTC) - timedelta(hours=2)).token
    target = Target(server.address, SERVICE_NAME)
    try:
        add = target.channel.unary_unary(
            f"/{SERVICE_NAME}/AddBook", request_serializer=pb.BookRequest.SerializeToString,
            response_deserializer=pb.BookResponse.FromString)
        ids = [add(pb.BookRequest(title=f"Book {n}", author=f"Author {n % 2}", isbn=_isbn(n),
                                  price_cents=100 * n, stock=n),
                   metadata=(("authorization", f"Bearer {admin}"),), timeout=10).book.id
               for n in range(1, 5)]
        listing = target.channel.unary_unary(
            f"/{SERVICE_NAME}/ListBooks",
            request_serializer=pb.ListBooksRequest.SerializeToString,
            response_deserializer=pb.ListBooksResponse.FromString)
        tokens = [listing(pb.ListBooksRequest(sort=sort, page_size=1), timeout=10)
                  .next_page_token for sort in pb.BookSort.values()
                  if sort != pb.BOOK_SORT_UNSPECIFIED]
        yield Fuzzed(target, auth_headers([admin, customer, expired]), ids,
                     [t for t in tokens if t])
    finally:
        target.close()
        loop.run(server.stop(0))
        loop.run(client.drop_database(name))
        loop.run(client.close())


@pytest.mark.parametrize("rpc", RPCS, ids=lambda rpc: rpc.name)
def test_no_request_breaks_the_service(fuzzed: Fuzzed, rpc: Rpc) -> None:
    hints = {"book_id": st.sampled_from(fuzzed.book_ids) | TEXT,
             "page_token": page_tokens(fuzzed.page_tokens),
             "isbn": st.integers(0, 10**9 - 1).map(_isbn) | TEXT}

    @FUZZ
    @given(request=requests(rpc.request_type, hints),
           metadata=st.sampled_from(fuzzed.headers))
    def call(request: object, metadata: Metadata) -> None:
        code = fuzzed.target.call(rpc, request, metadata)  # type: ignore[arg-type]
        assert code not in NEVER, f"{rpc.name} answered {code.name} to {request!r}"

    call()
    assert fuzzed.target.serving()
    book = fuzzed.target.channel.unary_unary(
        f"/{SERVICE_NAME}/GetBookDetails",
        request_serializer=pb.BookIDRequest.SerializeToString,
        response_deserializer=pb.BookResponse.FromString)(
            pb.BookIDRequest(book_id=fuzzed.book_ids[0]), timeout=5)
    assert book.book.id == fuzzed.book_ids[0]
