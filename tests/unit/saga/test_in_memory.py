"""The dispatcher and the relay over the in-memory broker: no RabbitMQ, a test database.

Saga stores events and dedup marks in MongoDB, so these tests use the test database; the
broker is the in-memory one, so they run in a fraction of a second.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from contracts.bookstore.events.v1 import events_pb2 as ev
from runtime.mongo import Document
from saga import (
    PROCESSED,
    Backoff,
    Delivery,
    EventRegistry,
    InMemoryBroker,
    PoisonMessage,
    SagaParticipant,
    Subscriptions,
    UnitOfWork,
    in_transaction,
)
from tests.integration.saga.helpers import EVENTS, emit, order_placed
from tests.waiting import eventually

FAST = Backoff(initial=0.01, maximum=0.05)


class Calls:
    """Handlers that record what they saw and whether a transaction was open."""

    def __init__(self) -> None:
        self.outside: list[tuple[str, bool]] = []
        self.inside: list[tuple[str, Any, bool]] = []

    async def charge(self, event: ev.StockReserved) -> str:
        self.outside.append((event.order_id, in_transaction()))
        return f"paid-{event.order_id}"

    async def settle(self, event: ev.StockReserved, paid: str, uow: UnitOfWork) -> None:
        self.inside.append((event.order_id, paid, in_transaction()))
        uow.emit(ev.OrderConfirmed(order_id=event.order_id, payment_reference=paid))

    async def placed(self, event: ev.OrderPlaced, uow: UnitOfWork) -> None:
        if event.order_id == "poison":
            raise PoisonMessage("cannot be handled")
        self.inside.append((event.order_id, None, in_transaction()))


@pytest.fixture
def broker() -> InMemoryBroker:
    return InMemoryBroker()


@pytest.fixture
async def pair(
    broker: InMemoryBroker, mongo_db: AsyncDatabase[Document]
) -> AsyncIterator[tuple[SagaParticipant, Calls]]:
    """A consumer of OrderPlaced and StockReserved, and nothing else, on one database."""
    calls = Calls()
    table = (Subscriptions().on(ev.OrderPlaced, calls.placed)
             .on(ev.StockReserved, calls.settle, outside=calls.charge))
    async with SagaParticipant(service="svc", db=mongo_db, transport=broker.transport("svc"),
                               subscriptions=table, events=EVENTS, retry_backoff=FAST,
                               relay_backoff=FAST, relay_poll_interval=0.05) as participant:
        yield participant, calls


async def test_an_emitted_event_is_handled_once_in_a_transaction(
    pair: tuple[SagaParticipant, Calls], broker: InMemoryBroker,
) -> None:
    participant, calls = pair
    await emit(participant, order_placed("o-1"))
    await eventually(lambda: _true(calls.inside))
    await broker.idle()
    assert calls.inside == [("o-1", None, True)]
    (envelope,) = [e for e in broker.published if e.type == "OrderPlaced"]
    assert envelope.correlation_id == "o-1"
    assert envelope.app_id == "svc"


async def test_the_outside_phase_runs_with_no_transaction_and_hands_its_result_on(
    pair: tuple[SagaParticipant, Calls], broker: InMemoryBroker,
    mongo_db: AsyncDatabase[Document],
) -> None:
    participant, calls = pair
    await emit(participant, ev.StockReserved(order_id="o-2"))
    await eventually(lambda: _true(calls.inside))
    assert calls.outside == [("o-2", False)]
    assert calls.inside == [("o-2", "paid-o-2", True)]

    async def confirmed() -> bool:
        return await mongo_db["outbox"].count_documents(
            {"name": "OrderConfirmed", "state": "published"}) == 1

    await eventually(confirmed)


async def test_a_replayed_event_runs_no_phase_at_all(
    pair: tuple[SagaParticipant, Calls], broker: InMemoryBroker,
    mongo_db: AsyncDatabase[Document], caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="saga._dispatch")
    participant, calls = pair
    event = ev.StockReserved(order_id="o-3")
    await emit(participant, event)
    await eventually(lambda: _true(calls.inside))
    await broker.idle()
    (original,) = [e for e in broker.published if e.type == "StockReserved"]
    replay = Delivery(body=original.body, routing_key=original.routing_key,
                      message_id=original.message_id, type=original.type)
    await broker.deliver("svc", replay)
    await broker.idle()
    assert len(calls.outside) == 1
    assert len(calls.inside) == 1
    assert [r.getMessage() for r in caplog.records].count("duplicate event skipped") == 1
    assert await mongo_db[PROCESSED].count_documents({}) == 1


async def test_a_copy_under_another_message_id_is_still_a_duplicate(
    pair: tuple[SagaParticipant, Calls], broker: InMemoryBroker,
    mongo_db: AsyncDatabase[Document],
) -> None:
    participant, calls = pair
    await emit(participant, ev.StockReserved(order_id="o-5"))
    await eventually(lambda: _true(calls.inside))
    await broker.idle()
    (original,) = [e for e in broker.published if e.type == "StockReserved"]
    await broker.deliver("svc", Delivery(body=original.body, routing_key="StockReserved",
                                         message_id="resent-under-a-new-id",
                                         type="StockReserved"))
    await broker.idle()
    assert (len(calls.outside), len(calls.inside)) == (1, 1)
    assert await mongo_db[PROCESSED].count_documents({}) == 1
    assert broker.dead_letters("svc") == []


async def test_an_event_its_validator_refuses_is_dead_lettered_before_any_phase(
    broker: InMemoryBroker, mongo_db: AsyncDatabase[Document],
) -> None:
    calls = Calls()
    strict = EventRegistry([ev.OrderPlaced], correlation_id=lambda e: e.order_id,
                           validators={ev.OrderPlaced: lambda e: None if e.lines else "no lines"})
    async with SagaParticipant(service="svc", db=mongo_db, transport=broker.transport("svc"),
                               subscriptions=Subscriptions().on(ev.OrderPlaced, calls.placed),
                               events=strict, retry_backoff=FAST, relay_poll_interval=0.05):
        empty = ev.OrderPlaced(order_id="o-6")
        for content_type in ("application/x-protobuf", "text/plain"):
            await broker.deliver("svc", Delivery(
                body=empty.SerializeToString(), routing_key="OrderPlaced",
                message_id=f"m-{content_type}", type="OrderPlaced", content_type=content_type))
        await broker.idle()
    verdicts = {d.delivery.content_type: d.verdict for d in broker.dead_letters("svc")}
    assert verdicts["application/x-protobuf"].error == (
        "InvalidEvent: OrderPlaced is not valid: no lines")
    assert verdicts["text/plain"].error == (
        "UndecodableMessage: content type 'text/plain' is not 'application/x-protobuf'")
    assert {v.attempts for v in verdicts.values()} == {0}
    assert calls.inside == []
    assert await mongo_db[PROCESSED].count_documents({}) == 0


async def test_poison_and_unknown_events_are_dead_lettered(
    pair: tuple[SagaParticipant, Calls], broker: InMemoryBroker,
) -> None:
    participant, _ = pair
    poison = order_placed("poison")
    await emit(participant, poison)
    stranger = ev.OrderCancelled(order_id="o-4")  # registered, but not subscribed to here
    await broker.deliver("svc", Delivery(body=stranger.SerializeToString(),
                                         routing_key="OrderCancelled", message_id="m-1",
                                         type="OrderCancelled"))
    await eventually(lambda: _true(len(broker.dead_letters("svc")) == 2))
    by_id = {d.delivery.message_id: d.verdict for d in broker.dead_letters("svc")}
    assert by_id[poison.meta.event_id].error == "PoisonMessage: cannot be handled"
    assert by_id[poison.meta.event_id].attempts == 1
    assert "no handler here" in by_id["m-1"].error or "unknown" in by_id["m-1"].error


async def _true(value: object) -> bool:
    return bool(value)
