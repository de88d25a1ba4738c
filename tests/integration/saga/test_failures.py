"""Messages that cannot be handled: dead-lettered with the reason, kept in the service's
``dead_letters`` collection, and the queue keeps flowing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from aio_pika.abc import AbstractRobustConnection
from pymongo.asynchronous.database import AsyncDatabase

from contracts.bookstore.events.v1 import events_pb2
from runtime.mongo import Document
from saga import SagaParticipant
from tests.integration.saga.helpers import (
    Recorder,
    dead_letter_queue_length,
    kept_dead_letters,
    order_placed,
    publish_raw,
)

pytestmark = pytest.mark.integration

MakeDb = Callable[[], AsyncDatabase[Document]]
Build = Callable[..., SagaParticipant]


async def test_poison_messages_are_dead_lettered_and_the_queue_keeps_flowing(
    make_db: MakeDb, participant: Build, broker: AbstractRobustConnection, prefix: str
) -> None:
    db = make_db()
    recorder = Recorder(db, poison_order="cursed")
    cursed = order_placed("cursed")
    good = order_placed("good")
    async with participant("inventory", db, {events_pb2.OrderPlaced: recorder}, prefetch=1):
        await publish_raw(broker, prefix, b"\xff\xfe not protobuf", "OrderPlaced",
                          message_id="garbage-1", type="OrderPlaced")
        await publish_raw(broker, prefix, good.SerializeToString(), "OrderPlaced",
                          message_id="no-such-type", type="OrderVanished")
        await publish_raw(broker, prefix, cursed.SerializeToString(), "OrderPlaced",
                          message_id=cursed.meta.event_id, type="OrderPlaced")
        await publish_raw(broker, prefix, good.SerializeToString(), "OrderPlaced",
                          message_id=good.meta.event_id, type="OrderPlaced")
        await recorder.wait_for(1)
        dead = await kept_dead_letters(db, 3)
        assert await dead_letter_queue_length(broker, prefix, "inventory") == 0

    assert await recorder.effect_count(order_id="good") == 1
    by_id = {d["_id"]: d for d in dead}
    assert set(by_id) == {"garbage-1", "no-such-type", cursed.meta.event_id}
    assert by_id["garbage-1"]["error"].startswith("UndecodableMessage")
    assert by_id["garbage-1"]["attempts"] == 0
    assert by_id["garbage-1"]["correlation_id"] is None
    assert "OrderVanished" in by_id["no-such-type"]["error"]
    assert by_id["no-such-type"]["type"] == "OrderVanished"
    poisoned = by_id[cursed.meta.event_id]
    assert poisoned["error"].startswith("PoisonMessage: order cursed")
    assert poisoned["error"] == poisoned["headers"]["x-error"]
    assert poisoned["attempts"] == 1
    assert poisoned["headers"]["x-original-routing-key"] == "OrderPlaced"
    assert poisoned["payload"] == cursed.SerializeToString()
    assert poisoned["type"] == "OrderPlaced"
    assert poisoned["queue"] == f"{prefix}.inventory"
    # A poisoned attempt commits nothing, so a later fixed handler could still take it.
    assert await db["processed_events"].count_documents({"_id": cursed.meta.event_id}) == 0


async def test_transient_failures_are_retried_then_handled_once(
    make_db: MakeDb, participant: Build, broker: AbstractRobustConnection, prefix: str
) -> None:
    db = make_db()
    recorder = Recorder(db, fail_times=2)
    event = order_placed("flaky")
    sentinel = order_placed("sentinel")
    async with participant("inventory", db, {events_pb2.OrderPlaced: recorder},
                           prefetch=1, max_attempts=5):
        for e in (event, sentinel):
            await publish_raw(broker, prefix, e.SerializeToString(), "OrderPlaced",
                              message_id=e.meta.event_id, type="OrderPlaced")
        await recorder.wait_for(2)

    assert recorder.calls == 4  # two failures, then each event once
    assert await recorder.effect_count(order_id="flaky") == 1
    assert await dead_letter_queue_length(broker, prefix, "inventory") == 0
    assert await db["dead_letters"].count_documents({}) == 0


async def test_a_message_failing_every_attempt_is_dead_lettered_after_max_attempts(
    make_db: MakeDb, participant: Build, broker: AbstractRobustConnection, prefix: str
) -> None:
    db = make_db()
    recorder = Recorder(db, fail_times=3)
    doomed = order_placed("doomed")
    later = order_placed("later")
    async with participant("inventory", db, {events_pb2.OrderPlaced: recorder},
                           prefetch=1, max_attempts=3):
        for e in (doomed, later):
            await publish_raw(broker, prefix, e.SerializeToString(), "OrderPlaced",
                              message_id=e.meta.event_id, type="OrderPlaced")
        (handled,) = await recorder.wait_for(1)
        (dead,) = await kept_dead_letters(db, 1)

    assert handled.order_id == "later"
    assert dead["_id"] == doomed.meta.event_id
    assert dead["attempts"] == 3
    assert dead["error"] == "ConnectionError: simulated outage 3"
    assert await recorder.effect_count(order_id="doomed") == 0
