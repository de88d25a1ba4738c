"""Dead letters kept in the ``dead_letters`` collection, replayed and purged; failed outbox
events retried. In-memory broker, test database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from contracts.bookstore.events.v1 import events_pb2 as ev
from runtime.mongo import Document
from saga import (
    Backoff,
    Delivery,
    InMemoryBroker,
    PublishFailed,
    SagaParticipant,
    Subscriptions,
    UnitOfWork,
)
from saga._dead_letters import DeadLetterDrain, DeadLetterStore
from tests.integration.saga.helpers import EVENTS, emit, eventually, order_placed

FAST = Backoff(initial=0.01, maximum=0.05)


class Handler:
    """Writes one effect per order; raises while ``broken`` (a bug), like a bad release."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db
        self.broken = True

    async def __call__(self, event: ev.OrderPlaced, uow: UnitOfWork) -> None:
        if self.broken:
            raise ValueError(f"bug while handling {event.order_id}")
        await self.db["effects"].insert_one({"order_id": event.order_id}, session=uow.session)

    async def effects(self, order_id: str) -> int:
        return await self.db["effects"].count_documents({"order_id": order_id})


@pytest.fixture
def broker() -> InMemoryBroker:
    return InMemoryBroker()


@pytest.fixture
def handler(mongo_db: AsyncDatabase[Document]) -> Handler:
    return Handler(mongo_db)


@pytest.fixture
async def participant(broker: InMemoryBroker, mongo_db: AsyncDatabase[Document],
                      handler: Handler) -> AsyncIterator[SagaParticipant]:
    table = Subscriptions().on(ev.OrderPlaced, handler)
    async with SagaParticipant(service="svc", db=mongo_db, transport=broker.transport("svc"),
                               subscriptions=table, events=EVENTS, retry_backoff=FAST,
                               max_attempts=2, relay_backoff=FAST,
                               relay_poll_interval=0.05) as running:
        yield running


async def dead_count(db: AsyncDatabase[Document], **query: object) -> int:
    return await db["dead_letters"].count_documents(query)


async def wait_dead(db: AsyncDatabase[Document], count: int) -> None:
    async def enough() -> bool:
        return await dead_count(db) >= count

    await eventually(enough)


async def test_a_failed_message_is_kept_with_why_and_what(
    participant: SagaParticipant, broker: InMemoryBroker, mongo_db: AsyncDatabase[Document],
) -> None:
    event = order_placed("o-1")
    before = datetime.now(UTC)
    await emit(participant, event)
    await wait_dead(mongo_db, 1)
    doc = await mongo_db["dead_letters"].find_one({"_id": event.meta.event_id})
    assert doc is not None
    assert doc["type"] == "OrderPlaced"
    assert doc["correlation_id"] == "o-1"
    assert doc["error"] == "ValueError: bug while handling o-1"
    assert doc["attempts"] == 2
    assert doc["dead_lettered_at"].replace(tzinfo=UTC) >= before.replace(microsecond=0)
    assert doc["queue"] == "bookstore.svc"
    assert doc["payload"] == event.SerializeToString(deterministic=True)
    assert doc["headers"]["x-error"] == doc["error"]
    assert doc["content_type"] == "application/x-protobuf"


async def test_an_undecodable_message_is_kept_uncorrelated_with_no_attempt(
    participant: SagaParticipant, broker: InMemoryBroker, mongo_db: AsyncDatabase[Document],
) -> None:
    await broker.deliver("svc", Delivery(body=b"\xff garbage", routing_key="OrderPlaced",
                                         message_id="m-bad", type="OrderPlaced"))
    await broker.deliver("svc", Delivery(body=b"\x0a\x01x", routing_key="OrderPlaced"))
    await wait_dead(mongo_db, 2)
    bad = await mongo_db["dead_letters"].find_one({"_id": "m-bad"})
    assert bad is not None
    assert (bad["correlation_id"], bad["attempts"]) == (None, 0)
    assert bad["error"].startswith("UndecodableMessage")
    nameless = await mongo_db["dead_letters"].find_one({"_id": {"$ne": "m-bad"}})
    assert nameless is not None
    assert nameless["_id"].startswith("no-id-")
    assert nameless["type"] == "OrderPlaced"  # from the original routing key


async def test_draining_the_same_dead_letter_twice_keeps_it_once(
    mongo_db: AsyncDatabase[Document],
) -> None:
    store = DeadLetterStore(mongo_db)
    drain = DeadLetterDrain(store, queue="svc")
    letter = Delivery(body=b"x", routing_key="svc", message_id="m-1", type="OrderPlaced",
                      headers={"x-error": "PoisonMessage: no", "x-attempts": 1,
                               "x-dead-lettered-at": "2026-01-02T03:04:05+00:00"})
    await drain(letter)
    await drain(letter)
    assert await dead_count(mongo_db) == 1
    (record,) = await store.page(limit=10, after=None)
    assert record["dead_lettered_at"].replace(tzinfo=UTC) == datetime(2026, 1, 2, 3, 4, 5,
                                                                      tzinfo=UTC)


async def test_replay_after_the_fix_handles_it_once_and_forgets_it(
    participant: SagaParticipant, broker: InMemoryBroker, mongo_db: AsyncDatabase[Document],
    handler: Handler,
) -> None:
    event = order_placed("o-2")
    await emit(participant, event)
    await wait_dead(mongo_db, 1)
    handler.broken = False  # the fix is deployed
    assert await participant.operations.replay(event.meta.event_id)
    await broker.idle()
    assert await handler.effects("o-2") == 1
    assert await dead_count(mongo_db) == 0
    assert not await participant.operations.replay(event.meta.event_id)  # nothing left
    # Replayed a second time (a copy kept elsewhere), the inbox makes it a silent duplicate.
    await mongo_db["dead_letters"].insert_one(
        {"_id": event.meta.event_id, "type": "OrderPlaced", "correlation_id": "o-2",
         "error": "copy", "attempts": 1, "dead_lettered_at": datetime.now(UTC), "queue": "svc",
         "payload": event.SerializeToString(), "headers": {}, "content_type": None})
    assert await participant.operations.replay_all() == 1
    await broker.idle()
    assert await handler.effects("o-2") == 1
    assert await dead_count(mongo_db) == 0
    # Only the service's own queue got it again: the events exchange carried it once.
    assert [e.message_id for e in broker.published].count(event.meta.event_id) == 1


async def test_a_replay_that_fails_again_is_kept_again_and_replay_all_ends(
    participant: SagaParticipant, broker: InMemoryBroker, mongo_db: AsyncDatabase[Document],
) -> None:
    events = [order_placed(f"o-{n}") for n in range(3)]
    await emit(participant, *events)
    await wait_dead(mongo_db, 3)
    first = await participant.operations.dead_letter(events[0].meta.event_id)
    assert first is not None
    assert await participant.operations.replay_all() == 3  # the bug is still there
    await broker.idle()
    assert await dead_count(mongo_db) == 3
    again = await participant.operations.dead_letter(events[0].meta.event_id)
    assert again is not None
    assert again.dead_lettered_at > first.dead_lettered_at


async def test_a_replay_the_broker_refuses_keeps_the_dead_letter(
    participant: SagaParticipant, broker: InMemoryBroker, mongo_db: AsyncDatabase[Document],
) -> None:
    event = order_placed("o-5")
    await emit(participant, event)
    await wait_dead(mongo_db, 1)
    broker.refusing = True
    with pytest.raises(PublishFailed):
        await participant.operations.replay(event.meta.event_id)
    assert await dead_count(mongo_db, replay={"$exists": False}) == 1


async def test_listing_pages_newest_first_and_purge_empties(
    mongo_db: AsyncDatabase[Document], participant: SagaParticipant,
) -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    await mongo_db["dead_letters"].insert_many([
        {"_id": f"m-{n}", "type": "OrderPlaced", "correlation_id": None, "error": "e",
         "attempts": 0, "dead_lettered_at": start + timedelta(minutes=n), "queue": "svc",
         "payload": b"", "headers": {}, "content_type": None} for n in range(5)])
    ops = participant.operations
    first = await ops.dead_letters(limit=2)
    second = await ops.dead_letters(limit=2, after=first[-1].cursor)
    rest = await ops.dead_letters(limit=2, after=second[-1].cursor)
    assert [r.id for r in first + second + rest] == ["m-4", "m-3", "m-2", "m-1", "m-0"]
    assert ops.decode(first[0]) == ev.OrderPlaced()  # an empty body is an empty event
    assert await ops.purge() == 5
    assert await ops.dead_letters(limit=10) == []


async def test_failed_outbox_events_are_listed_and_retried(
    broker: InMemoryBroker, mongo_db: AsyncDatabase[Document],
) -> None:
    broker.refusing = True
    async with SagaParticipant(service="emitter", db=mongo_db,
                               transport=broker.transport("emitter"), events=EVENTS,
                               relay_backoff=FAST, relay_poll_interval=0.05,
                               relay_max_attempts=1) as emitter:
        event = order_placed("o-9")
        await emit(emitter, event)

        async def parked() -> bool:
            return await mongo_db["outbox"].count_documents({"state": "failed"}) == 1

        await eventually(parked)
        (failed,) = await emitter.operations.failed_events(limit=10)
        assert (failed.id, failed.name, failed.correlation_id) == (
            event.meta.event_id, "OrderPlaced", "o-9")
        assert "gave up after 1 attempts" in failed.error
        broker.refusing = False
        assert await emitter.operations.retry_failed_events([failed.id]) == 1

        async def published() -> bool:
            return await mongo_db["outbox"].count_documents({"state": "published"}) == 1

        await eventually(published)
        assert await emitter.operations.failed_events(limit=10) == []
