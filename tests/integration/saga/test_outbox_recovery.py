"""The relay sends whatever is stored, whoever stored it and whatever happened in between."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import timedelta

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from contracts.bookstore.events.v1 import events_pb2
from runtime.mongo import Document
from saga import Outbox, Relay, SagaParticipant
from saga._envelope import Envelope
from saga._store import utcnow
from saga.errors import PublishFailed
from tests.integration.saga.helpers import EVENTS, FAST, Recorder, emit, order_placed
from tests.waiting import eventually

pytestmark = pytest.mark.integration

MakeDb = Callable[[], AsyncDatabase[Document]]
Build = Callable[..., SagaParticipant]


class RefusingBroker:
    """A publisher for a broker that never confirms: what an outage looks like to the relay."""

    def __init__(self) -> None:
        self.offered = 0

    async def publish(self, envelopes: Sequence[Envelope]) -> list[BaseException | None]:
        self.offered += len(envelopes)
        return [PublishFailed("broker unreachable") for _ in envelopes]


async def test_events_stored_while_no_relay_runs_are_all_delivered_once(
    make_db: MakeDb, participant: Build
) -> None:
    orders_db, inventory_db = make_db(), make_db()
    recorder = Recorder(inventory_db)
    offline = Outbox(orders_db, EVENTS)  # a process that stored events and died before relaying
    await offline.ensure_indexes()
    events = [order_placed(f"stored-{i}") for i in range(25)]
    for event in events:

        async def work(uow: object, event: events_pb2.OrderPlaced = event) -> None:
            uow.emit(event)  # type: ignore[attr-defined]

        await offline.run(work)
    # One event was claimed by a relay that then crashed: its lease ran out long ago.
    stale = events[0].meta.event_id
    await orders_db["outbox"].update_one(
        {"_id": stale},
        {"$set": {"state": "in_progress", "claim": "dead-relay", "attempts": 1,
                  "due_at": utcnow() - timedelta(minutes=1)}})

    async with (
        participant("inventory", inventory_db, {events_pb2.OrderPlaced: recorder}),
        participant("orders", orders_db),
    ):
        await recorder.wait_for(25)

    for event in events:
        assert await recorder.effect_count(order_id=event.order_id) == 1
    assert await orders_db["outbox"].count_documents({"state": "published"}) == 25
    reclaimed = await orders_db["outbox"].find_one({"_id": stale})
    assert reclaimed is not None
    assert reclaimed["attempts"] == 2


async def test_a_live_lease_is_left_alone(make_db: MakeDb) -> None:
    db = make_db()
    outbox = Outbox(db, EVENTS)
    await outbox.ensure_indexes()
    event = order_placed("leased")

    async def work(uow: object) -> None:
        uow.emit(event)  # type: ignore[attr-defined]

    await outbox.run(work)
    first = await outbox.store.claim(limit=10, lease=timedelta(seconds=30), token="relay-a")
    second = await outbox.store.claim(limit=10, lease=timedelta(seconds=30), token="relay-b")
    assert [d["_id"] for d in first] == [event.meta.event_id]
    assert second == []


async def test_unconfirmed_events_go_back_to_pending_and_go_out_later(
    make_db: MakeDb, participant: Build
) -> None:
    orders_db, inventory_db = make_db(), make_db()
    recorder = Recorder(inventory_db)
    outbox = Outbox(orders_db, EVENTS)
    await outbox.ensure_indexes()
    refusing = RefusingBroker()
    # Attempts come every fraction of a second: never parked here, however slow the machine.
    relay = Relay(outbox.store, refusing, app_id="orders", poll_interval=0.05, backoff=FAST,
                  max_attempts=1_000_000)
    events = [order_placed(f"outage-{i}") for i in range(5)]
    outbox.hand_off_to(relay)
    relay.start()
    for event in events:

        async def work(uow: object, event: events_pb2.OrderPlaced = event) -> None:
            uow.emit(event)  # type: ignore[attr-defined]

        await outbox.run(work)

    async def each_attempted_twice() -> bool:  # the hand-off, then at least one claim
        return await orders_db["outbox"].count_documents({"attempts": {"$gte": 2}}) == 5

    await eventually(each_attempted_twice)
    outbox.hand_off_to(None)
    # A bound, not a pause: the flush stops at its first refusal. Cut short between a claim
    # and its release, it would leave an event in progress.
    await relay.stop(flush_timeout=30)
    assert refusing.offered >= 10
    assert await orders_db["outbox"].count_documents({"state": "pending"}) == 5
    assert await orders_db["outbox"].count_documents({"attempts": {"$gte": 2}}) == 5

    async with (
        participant("inventory", inventory_db, {events_pb2.OrderPlaced: recorder}),
        participant("orders", orders_db),
    ):
        await recorder.wait_for(5)
    for event in events:
        assert await recorder.effect_count(order_id=event.order_id) == 1


async def test_two_relays_on_one_database_lose_nothing(
    make_db: MakeDb, participant: Build
) -> None:
    orders_db, inventory_db = make_db(), make_db()
    recorder = Recorder(inventory_db)
    events = [order_placed(f"pair-{i}") for i in range(200)]
    async with (
        participant("inventory", inventory_db, {events_pb2.OrderPlaced: recorder}),
        participant("orders", orders_db) as first,
        participant("orders", orders_db) as second,
    ):
        await asyncio.gather(*(emit(first if i % 2 else second, e)
                               for i, e in enumerate(events)))
        await recorder.wait_for(200, within=60)  # 200 transactions each side: a busy machine

    for event in events:
        assert await recorder.effect_count(order_id=event.order_id) == 1
    assert await orders_db["outbox"].count_documents({"state": "published"}) == 200
