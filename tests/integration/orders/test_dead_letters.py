"""Dead letters an admin can act on, end to end over a real broker: an order's event fails
because of a bug and is dead-lettered; once the bug is fixed, a replay settles the order
exactly once, and replaying it again changes nothing."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import pytest

from client import BookstoreClient, ClientConfig, NotFoundError, PermissionDeniedError
from contracts.bookstore.events.v1 import events_pb2 as ev
from contracts.bookstore.messaging.v1 import messaging_pb2 as msg
from contracts.bookstore.messaging.v1 import messaging_pb2_grpc as msg_grpc
from contracts.bookstore.orders.v1 import orders_pb2 as pb
from orders.handlers import Charge, OrderHandlers
from runtime.auth import Role
from runtime.messaging_admin import MessagingAdminService
from runtime.server import GrpcServer
from saga import SagaParticipant, UnitOfWork
from tests.integration.orders.conftest import Stack, running_saga
from tests.integration.saga.helpers import eventually

pytestmark = pytest.mark.integration
WAIT = 20.0


class BuggyHandlers(OrderHandlers):
    """The order handlers of a release whose settle step has a bug, until it is fixed."""

    broken = True

    async def settle(self, event: ev.StockReserved, result: Charge | None,
                     uow: UnitOfWork) -> None:
        if self.broken:
            raise KeyError("payment_reference")  # the bug
        await super().settle(event, result, uow)


@dataclass
class World:
    stack: Stack
    handlers: BuggyHandlers
    orders: SagaParticipant
    admin: BookstoreClient
    alice: BookstoreClient
    address: str


def client_for(stack: Stack, address: str, user_id: str, role: Role) -> BookstoreClient:
    """A client whose orders (and inventory) address serves only the messaging admin."""
    config = ClientConfig.from_env({"BOOKSTORE_ORDERS_ADDR": address,
                                    "BOOKSTORE_INVENTORY_ADDR": address})
    return BookstoreClient(config, token=stack.issuer.issue(user_id, role).token,
                           user_id=user_id)


@pytest.fixture
async def world(stack: Stack, amqp_url: str) -> AsyncIterator[World]:
    handlers = BuggyHandlers(stack.app.store, stack.gateway)
    async with running_saga(stack, amqp_url, handlers, max_attempts=2) as (_, orders):
        server = GrpcServer("127.0.0.1:0",
                            [MessagingAdminService(orders.operations, stack.verifier).binding()])
        await server.start()
        try:
            async with (client_for(stack, server.address, "admin-1", Role.ADMIN) as admin,
                        client_for(stack, server.address, "alice", Role.CUSTOMER) as alice):
                yield World(stack, handlers, orders, admin, alice, server.address)
        finally:
            await server.stop(0)


async def dead_letters_of(world: World, count: int) -> list[msg.DeadLetter]:
    found: list[msg.DeadLetter] = []

    async def enough() -> bool:
        found[:] = (await world.admin.list_dead_letters("orders")).dead_letters
        return len(found) >= count

    await eventually(enough, WAIT)
    return found


async def order_of(stack: Stack, order_id: str) -> pb.Order:
    reply = await stack.orders.GetOrderStatus(pb.OrderIDRequest(order_id=order_id),
                                              metadata=stack.admin)
    return reply.order


async def status_becomes(stack: Stack, order_id: str, status: int) -> pb.Order:
    async def reached() -> bool:
        return await stack.status(order_id) == status

    await eventually(reached, WAIT)
    return await order_of(stack, order_id)


async def test_a_dead_lettered_order_settles_once_when_replayed_after_the_fix(
    world: World, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="saga._dispatch")
    stack = world.stack
    book = await stack.add_book(stock=3)
    order = await stack.place((book, 1), payment_token="tok_visa")

    (letter,) = await dead_letters_of(world, 1)
    assert (letter.type, letter.correlation_id) == ("StockReserved", order.id)
    assert letter.error == "KeyError: 'payment_reference'"
    assert letter.attempts == 2
    assert letter.queue.endswith(".orders")
    assert letter.dead_lettered_at.seconds > 0
    assert await stack.status(order.id) == pb.ORDER_STATUS_PENDING
    shown = await world.admin.get_dead_letter("orders", letter.id)
    assert json.loads(shown.decoded_json)["order_id"] == order.id
    assert shown.headers["x-error"] == letter.error
    stored = await stack.db["dead_letters"].find_one({"_id": letter.id})
    assert stored is not None

    world.handlers.broken = False  # the fix is deployed
    assert await world.admin.replay_dead_letter("orders", letter.id) == 1
    settled = await status_becomes(stack, order.id, pb.ORDER_STATUS_CONFIRMED)
    assert [h.status for h in settled.history].count(pb.ORDER_STATUS_CONFIRMED) == 1
    assert (await world.admin.list_dead_letters("orders")).dead_letters == []
    with pytest.raises(NotFoundError):
        await world.admin.replay_dead_letter("orders", letter.id)
    assert await world.admin.replay_dead_letters("orders") == 0

    # The same message replayed once more (a copy kept elsewhere): a silent duplicate.
    await stack.db["dead_letters"].insert_one(stored)
    assert await world.admin.replay_dead_letters("orders") == 1
    async def skipped() -> bool:  # the consumer's verdict on the copy
        return any(r.getMessage() == "duplicate event skipped"
                   and getattr(r, "event_id", None) == letter.id for r in caplog.records)

    await eventually(skipped, WAIT)
    again = await order_of(stack, order.id)
    assert list(again.history) == list(settled.history)
    assert await stack.db["payments"].count_documents({"_id": order.id}) == 1
    assert (await world.admin.list_dead_letters("orders")).dead_letters == []


async def test_only_admins_may_see_or_touch_dead_letters(world: World) -> None:
    with pytest.raises(PermissionDeniedError):
        await world.alice.list_dead_letters("orders")
    with pytest.raises(PermissionDeniedError):
        await world.alice.purge_dead_letters("orders")
    with pytest.raises(NotFoundError, match="no dead letter 'nope'"):
        await world.admin.get_dead_letter("orders", "nope")
    async with grpc.aio.insecure_channel(world.address) as channel:
        stub = msg_grpc.MessagingAdminStub(channel)
        token = world.stack.issuer.issue("admin-1", Role.ADMIN).token
        metadata = (("authorization", f"Bearer {token}"),)
        with pytest.raises(grpc.aio.AioRpcError) as both:
            await stub.ReplayDeadLetters(msg.ReplayDeadLettersRequest(id="x", all=True),
                                         metadata=metadata)
        assert both.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.aio.AioRpcError) as bad_token:
            await stub.ListDeadLetters(msg.ListDeadLettersRequest(page_token="garbage!"),
                                       metadata=metadata)
        assert bad_token.value.code() is grpc.StatusCode.INVALID_ARGUMENT


async def test_a_failed_outbox_event_is_listed_and_sent_again(world: World) -> None:
    stack = world.stack
    event = ev.OrderCancelled(order_id="o-unknown", reason="test")
    event.meta.event_id = "failed-1"
    event.meta.occurred_at.GetCurrentTime()
    await stack.db["outbox"].insert_one({
        "_id": "failed-1", "name": "OrderCancelled", "correlation_id": "o-unknown",
        "payload": event.SerializeToString(), "headers": {}, "state": "failed",
        "attempts": 10, "created_at": event.meta.occurred_at.ToDatetime(),
        "published_at": None, "error": "gave up after 10 attempts: broker away"})
    (failed,) = (await world.admin.list_failed_outbox("orders")).events
    assert (failed.id, failed.name, failed.attempts) == ("failed-1", "OrderCancelled", 10)
    assert await world.admin.retry_failed_outbox("orders", ["failed-1"]) == 1
    async def published() -> bool:
        return await stack.db["outbox"].count_documents(
            {"_id": "failed-1", "state": "published"}) == 1

    await eventually(published, WAIT)
    assert (await world.admin.list_failed_outbox("orders")).events == []
    with pytest.raises(NotFoundError):
        await world.admin.retry_failed_outbox("orders", ["failed-1"])
