"""The relay's fast path: events handed off in memory, published at once, marked together."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from contracts.bookstore.events.v1 import events_pb2
from runtime.mongo import Document
from saga import Outbox, OutboxStore, Relay, UnitOfWork
from saga._envelope import Envelope
from tests.integration.saga.helpers import EVENTS, FAST, order_placed
from tests.waiting import eventually, until

pytestmark = pytest.mark.integration

MakeDb = Callable[[], AsyncDatabase[Document]]


class ConfirmingBroker:
    """A publisher whose broker confirms everything: records what it was given."""

    def __init__(self) -> None:
        self.published: list[str] = []

    async def publish(self, envelopes: Sequence[Envelope]) -> list[BaseException | None]:
        self.published += [e.message_id for e in envelopes]
        return [None for _ in envelopes]


class CountingStore(OutboxStore):
    claims = 0
    marks = 0

    async def claim(self, *, limit: int, lease: timedelta, token: str) -> list[Document]:
        self.claims += 1
        return await super().claim(limit=limit, lease=lease, token=token)

    async def mark_published(self, ids: Sequence[str]) -> None:
        self.marks += 1
        await super().mark_published(ids)


async def store(outbox: Outbox, event: events_pb2.OrderPlaced) -> None:
    async def work(uow: UnitOfWork) -> None:
        uow.emit(event)

    await outbox.run(work)


async def test_handed_off_events_go_out_without_a_claim_and_are_marked_together(
    make_db: MakeDb,
) -> None:
    db = make_db()
    outbox = Outbox(db, EVENTS)
    await outbox.ensure_indexes()
    counting = CountingStore(db)
    broker = ConfirmingBroker()
    relay = Relay(counting, broker, app_id="orders", poll_interval=60, backoff=FAST,
                  mark_delay=0.3)
    outbox.hand_off_to(relay)
    relay.start()
    try:
        # The first round's poll has begun (and, the outbox being empty, claims nothing);
        # the next is a minute away, so any later claim would be one for these events.
        claims = await until(lambda: counting.claims)
        events = [order_placed(f"fast-{i}") for i in range(5)]
        for event in events:
            await store(outbox, event)

        async def all_published() -> bool:
            return len(broker.published) == len(events)

        await eventually(all_published, within=2)
        assert counting.claims == claims  # straight from memory: no claim read them back
        # Stored pending, due only after the lease: another relay would leave them be.
        leased = await counting.claim(limit=10, lease=timedelta(seconds=30), token="other")
        assert leased == []

        async def all_marked() -> bool:
            return await db["outbox"].count_documents({"state": "published"}) == len(events)

        await eventually(all_marked, within=5)
        assert counting.marks < len(events)
    finally:
        await relay.stop(flush_timeout=1)
    assert broker.published == [e.meta.event_id for e in events]


async def test_stopping_marks_what_was_confirmed(make_db: MakeDb) -> None:
    db = make_db()
    outbox = Outbox(db, EVENTS)
    await outbox.ensure_indexes()
    broker = ConfirmingBroker()
    relay = Relay(outbox.store, broker, app_id="orders", poll_interval=60, backoff=FAST,
                  mark_delay=60)  # only the stop can mark them
    outbox.hand_off_to(relay)
    relay.start()
    event = order_placed("stop-marks")
    await store(outbox, event)

    async def published() -> bool:
        return broker.published == [event.meta.event_id]

    await eventually(published, within=2)
    await relay.stop(flush_timeout=2)
    stored = await db["outbox"].find_one({"_id": event.meta.event_id})
    assert stored is not None
    assert stored["state"] == "published"

