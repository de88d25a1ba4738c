"""Every MessagingAdmin RPC, fuzzed: no request yields INTERNAL or UNKNOWN, and the service
keeps serving afterwards. The saga runs over the in-memory broker, with dead letters and a
failed outbox event to find."""

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

from contracts.bookstore.events.v1 import events_pb2 as ev
from contracts.bookstore.messaging.v1 import messaging_pb2 as pb
from orders.events import EVENTS
from runtime.auth import Role, TokenIssuer, TokenVerifier
from runtime.messaging_admin import MessagingAdminService
from runtime.mongo import Document, make_client
from runtime.server import GrpcServer
from saga import InMemoryBroker, PoisonMessage, SagaParticipant, Subscriptions, UnitOfWork
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

RPCS = rpcs_of(pb, "MessagingAdmin")
SERVICE_NAME = RPCS[0].service
IDS = ["dead-1", "dead-2", "failed-1"]


@dataclass
class Fuzzed:
    target: Target
    headers: list[Metadata]
    page_tokens: list[str]


@dataclass
class Running:
    client: AsyncMongoClient[Document]
    participant: SagaParticipant
    server: GrpcServer

    async def close(self, name: str) -> None:
        await self.server.stop(0)
        await self.participant.__aexit__(None, None, None)
        await self.client.drop_database(name)
        await self.client.close()


async def refuse(event: ev.StockRejected, uow: UnitOfWork) -> None:
    raise PoisonMessage("this service takes no rejections")


def dead_letter(record_id: str, at: datetime) -> Document:
    event = ev.StockRejected(order_id=f"o-{record_id}")
    return {"_id": record_id, "type": "StockRejected", "correlation_id": event.order_id,
            "error": "PoisonMessage: no", "attempts": 1, "dead_lettered_at": at,
            "queue": "fuzz.orders", "payload": event.SerializeToString(),
            "headers": {"x-error": "PoisonMessage: no"}, "content_type": None}


@pytest.fixture(scope="module")
def fuzzed(loop: BackgroundLoop, mongo_url: str) -> Iterator[Fuzzed]:
    name = f"fuzz_messaging_{uuid.uuid4().hex[:10]}"
    key = Ed25519PrivateKey.generate()
    issuer = TokenIssuer(key, timedelta(minutes=30))
    verifier = TokenVerifier(key.public_key())

    async def start() -> Running:
        client = make_client(mongo_url)  # everything belongs to the loop it is made on
        db = client[name]
        now = datetime.now(UTC)
        await db["dead_letters"].insert_many([dead_letter("dead-1", now),
                                              dead_letter("dead-2", now)])
        await db["outbox"].insert_one({
            "_id": "failed-1", "name": "StockRejected", "correlation_id": "o-1",
            "payload": ev.StockRejected(order_id="o-1").SerializeToString(), "headers": {},
            "state": "failed", "attempts": 10, "created_at": now, "published_at": None,
            "error": "gave up"})
        participant = SagaParticipant(
            service="orders", db=db, transport=InMemoryBroker().transport("orders"),
            subscriptions=Subscriptions().on(ev.StockRejected, refuse), events=EVENTS,
            prefix="fuzz")
        await participant.__aenter__()
        server = GrpcServer("127.0.0.1:0",
                            [MessagingAdminService(participant.operations, verifier).binding()])
        await server.start()
        return Running(client, participant, server)

    running = loop.run(start())
    admin_token = issuer.issue("fuzz-admin", Role.ADMIN).token
    customer_token = issuer.issue("fuzz-customer", Role.CUSTOMER).token
    expired = issuer.issue("fuzz-admin", Role.ADMIN,
                           now=datetime.now(UTC) - timedelta(hours=2)).token
    target = Target(running.server.address, SERVICE_NAME)
    try:
        admin = bearer(admin_token)
        first = target.unary("ListDeadLetters", pb.ListDeadLettersRequest(page_size=1),
                             pb.ListDeadLettersResponse, admin)
        yield Fuzzed(target, auth_headers([admin_token, customer_token, expired]),
                     [first.next_page_token])
    finally:
        target.close()
        loop.run(running.close(name))


@pytest.mark.parametrize("rpc", RPCS, ids=lambda rpc: rpc.name)
def test_no_request_breaks_the_service(fuzzed: Fuzzed, rpc: Rpc) -> None:
    hints = {"id": st.sampled_from(IDS) | TEXT, "ids": st.sampled_from(IDS) | TEXT,
             "page_token": page_tokens(fuzzed.page_tokens)}

    @FUZZ
    @given(request=requests(rpc.request_type, hints),
           metadata=st.sampled_from(fuzzed.headers))
    def call(request: object, metadata: Metadata) -> None:
        code = fuzzed.target.call(rpc, request, metadata)  # type: ignore[arg-type]
        assert code not in NEVER, f"{rpc.name} answered {code.name} to {request!r}"

    call()
    assert fuzzed.target.serving()
