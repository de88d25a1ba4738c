"""The relay counts every publish attempt, backs off more each time, and parks for good."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from runtime.mongo import Document
from saga import Backoff, InMemoryBroker, Outbox, PublishFailed, Relay, UnitOfWork
from tests.integration.saga.helpers import EVENTS, order_placed
from tests.waiting import eventually

FAST = Backoff(initial=0.01, maximum=0.05, jitter=0.0)


async def store_one(outbox: Outbox, order_id: str) -> str:
    event = order_placed(order_id)

    async def work(uow: UnitOfWork) -> None:
        uow.emit(event)

    await outbox.run(work)
    return event.meta.event_id


async def test_a_handed_off_event_counts_its_attempt_and_is_parked_after_the_limit(
    mongo_db: AsyncDatabase[Document],
) -> None:
    broker = InMemoryBroker()
    broker.refusing = True
    outbox = Outbox(mongo_db, EVENTS)
    await outbox.ensure_indexes()
    relay = Relay(outbox.store, broker.transport("svc"), app_id="svc", poll_interval=0.02,
                  backoff=FAST, max_attempts=3)
    outbox.hand_off_to(relay)
    relay.start()
    try:
        event_id = await store_one(outbox, "doomed")

        async def parked() -> bool:
            doc = await mongo_db["outbox"].find_one({"_id": event_id})
            return doc is not None and doc["state"] == "failed"

        await eventually(parked)
    finally:
        outbox.hand_off_to(None)
        await relay.stop(flush_timeout=0.5)
    doc = await mongo_db["outbox"].find_one({"_id": event_id})
    assert doc is not None
    assert doc["attempts"] == 3  # the hand-off, then two claims
    assert doc["error"].startswith("gave up after 3 attempts: PublishFailed")
    assert "due_at" not in doc  # never claimed again


async def test_the_wait_before_the_next_attempt_grows_with_attempts(
    mongo_db: AsyncDatabase[Document],
) -> None:
    broker = InMemoryBroker()
    broker.refusing = True
    outbox = Outbox(mongo_db, EVENTS)
    await outbox.ensure_indexes()
    slow = Backoff(initial=10.0, maximum=1000.0, jitter=0.0)
    relay = Relay(outbox.store, broker.transport("svc"), app_id="svc", backoff=slow,
                  lease=timedelta(seconds=0))
    event_id = await store_one(outbox, "waits")
    waits: list[float] = []
    for _ in range(3):
        before = await mongo_db["outbox"].find_one({"_id": event_id})
        assert before is not None
        await mongo_db["outbox"].update_one({"_id": event_id},
                                            {"$set": {"due_at": before["created_at"]}})
        with pytest.raises(PublishFailed, match="unconfirmed"):
            await relay.relay_once()
        after = await mongo_db["outbox"].find_one({"_id": event_id})
        assert after is not None
        assert after["state"] == "pending"
        waits.append((after["due_at"] - before["created_at"]).total_seconds())
    attempts = (await mongo_db["outbox"].find_one({"_id": event_id}) or {})["attempts"]
    assert attempts == 3
    assert waits[0] < waits[1] < waits[2]
