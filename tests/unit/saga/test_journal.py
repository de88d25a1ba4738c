"""What the journal reads back for one correlation id: events handled (with their times,
attempts and redelivery), emitted and dead-lettered. In-memory broker, test database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from contracts.bookstore.events.v1 import events_pb2 as ev
from contracts.events import new_meta
from runtime.mongo import Document
from saga import (
    PROCESSED,
    Backoff,
    Delivery,
    InMemoryBroker,
    SagaParticipant,
    Subscriptions,
    UnitOfWork,
)
from saga.journal import EntryKind, Journal, JournalEntry
from tests.integration.saga.helpers import EVENTS, emit, eventually

FAST = Backoff(initial=0.01, maximum=0.05)


class Flaky:
    """Confirms every reservation; fails the first attempt for order ``flaky``."""

    def __init__(self) -> None:
        self.failed = False

    async def settle(self, event: ev.StockReserved, uow: UnitOfWork) -> None:
        if event.order_id == "flaky" and not self.failed:
            self.failed = True
            raise ConnectionError("database away for a moment")
        uow.emit(ev.OrderConfirmed(order_id=event.order_id, payment_reference="pay_1"))


@pytest.fixture
def broker() -> InMemoryBroker:
    return InMemoryBroker()


@pytest.fixture
async def participant(mongo_db: AsyncDatabase[Document],
                      broker: InMemoryBroker) -> AsyncIterator[SagaParticipant]:
    table = Subscriptions().on(ev.StockReserved, Flaky().settle)
    async with SagaParticipant(service="svc", db=mongo_db, transport=broker.transport("svc"),
                               subscriptions=table, events=EVENTS, retry_backoff=FAST,
                               relay_backoff=FAST, relay_poll_interval=0.05) as running:
        yield running


async def journal_until(db: AsyncDatabase[Document], order_id: str,
                        count: int) -> list[JournalEntry]:
    """The journal once it has ``count`` entries and every emitted one is published."""
    found: list[JournalEntry] = []

    async def enough() -> bool:
        nonlocal found
        found = await Journal(db).of(order_id)
        published = all(e.state == "published" for e in found if e.kind is EntryKind.EMITTED)
        return len(found) >= count and published

    await eventually(enough)
    return found


async def test_a_handled_event_is_journalled_with_its_times_between_its_cause_and_effect(
    participant: SagaParticipant, mongo_db: AsyncDatabase[Document],
) -> None:
    await emit(participant, ev.StockReserved(order_id="o-1"), ev.StockReserved(order_id="o-2"))
    entries = await journal_until(mongo_db, "o-1", 3)
    assert [(e.kind, e.event) for e in entries] == [
        (EntryKind.EMITTED, "StockReserved"), (EntryKind.RECEIVED, "StockReserved"),
        (EntryKind.EMITTED, "OrderConfirmed")]
    emitted, received, confirmed = entries
    assert received.event_id == emitted.event_id
    assert (received.attempts, received.redelivered) == (1, False)
    assert received.ended_at is not None
    assert received.ended_at >= received.at >= emitted.at
    assert emitted.ended_at is not None  # published
    assert confirmed.duration_ms >= 0
    record = await mongo_db[PROCESSED].find_one({"_id": received.event_id})
    assert record is not None
    assert (record["name"], record["correlation_id"]) == ("StockReserved", "o-1")


async def test_a_retried_and_a_redelivered_event_say_so(
    participant: SagaParticipant, mongo_db: AsyncDatabase[Document], broker: InMemoryBroker,
) -> None:
    await emit(participant, ev.StockReserved(order_id="flaky"))
    (_, retried, _) = await journal_until(mongo_db, "flaky", 3)
    assert (retried.kind, retried.attempts) == (EntryKind.RECEIVED, 2)

    again = ev.StockReserved(meta=new_meta(), order_id="again")
    await broker.deliver("svc", Delivery(body=again.SerializeToString(),
                                         routing_key="StockReserved",
                                         message_id=again.meta.event_id, type="StockReserved",
                                         redelivered=True))
    entries = await journal_until(mongo_db, "again", 2)
    (received,) = [e for e in entries if e.kind is EntryKind.RECEIVED]
    assert (received.event_id, received.redelivered) == (again.meta.event_id, True)


async def test_dead_letters_of_the_correlation_id_are_read_when_there_are_any(
    mongo_db: AsyncDatabase[Document],
) -> None:
    journal = Journal(mongo_db)
    assert await journal.of("o-9") == []  # no dead_letters collection at all
    assert await journal.of("") == []
    at = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    await mongo_db["dead_letters"].insert_many([
        {"_id": "m-1", "type": "OrderPlaced", "correlation_id": "o-9", "attempts": 5,
         "error": "PoisonMessage: no lines", "dead_lettered_at": at, "queue": "q",
         "payload": b"", "headers": {}},
        {"_id": "m-2", "type": "OrderPlaced", "correlation_id": "o-10", "attempts": 1,
         "error": "x", "dead_lettered_at": at, "queue": "q", "payload": b"", "headers": {}}])
    (entry,) = await journal.of("o-9")
    assert (entry.kind, entry.event, entry.event_id, entry.attempts, entry.error, entry.at) == (
        EntryKind.DEAD_LETTERED, "OrderPlaced", "m-1", 5, "PoisonMessage: no lines", at)
