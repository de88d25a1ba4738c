"""Outbox to handler: one delivery per event, the right envelope, atomic transactions, dedup."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import aio_pika
import pytest
from aio_pika.abc import AbstractRobustConnection
from pymongo.asynchronous.database import AsyncDatabase

from contracts.bookstore.events.v1 import events_pb2
from runtime.mongo import Document
from saga import SagaParticipant, UnitOfWork
from tests.integration.saga.helpers import (
    WAIT,
    Recorder,
    emit,
    eventually,
    order_placed,
    publish_raw,
    spy,
)

pytestmark = pytest.mark.integration

MakeDb = Callable[[], AsyncDatabase[Document]]
Build = Callable[..., SagaParticipant]


async def test_emitted_event_reaches_subscriber_once_with_envelope(
    make_db: MakeDb, participant: Build, broker: AbstractRobustConnection, prefix: str
) -> None:
    orders_db, inventory_db = make_db(), make_db()
    recorder = Recorder(inventory_db)
    event = order_placed("order-1")
    async with (
        participant("inventory", inventory_db, {events_pb2.OrderPlaced: recorder}),
        participant("orders", orders_db) as orders,
        spy(broker, prefix) as wire,
    ):
        await emit(orders, event)
        (handled,) = await recorder.wait_for(1)
        async with asyncio.timeout(WAIT):
            message = await wire.get()

    assert handled == event
    assert message.message_id == event.meta.event_id
    assert message.type == "OrderPlaced"
    assert message.routing_key == "OrderPlaced"
    assert message.correlation_id == "order-1"
    assert message.content_type == "application/x-protobuf"
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert message.app_id == "orders"
    assert message.timestamp is not None
    assert message.headers["x-correlation-id"] == "order-1"
    assert events_pb2.OrderPlaced.FromString(message.body) == event
    assert await recorder.effect_count() == 1
    stored = await orders_db["outbox"].find_one({"_id": event.meta.event_id})
    assert stored is not None
    assert stored["state"] == "published"
    assert stored["published_at"] is not None
    assert await inventory_db["processed_events"].count_documents({}) == 1


async def test_failed_work_stores_and_publishes_nothing(
    make_db: MakeDb, participant: Build, broker: AbstractRobustConnection, prefix: str
) -> None:
    db = make_db()

    async def work(uow: UnitOfWork) -> None:
        await db["orders"].insert_one({"_id": "doomed"}, session=uow.session)
        uow.emit(order_placed("doomed"))
        raise RuntimeError("payment gateway said no")

    async with participant("orders", db) as orders, spy(broker, prefix) as wire:
        with pytest.raises(RuntimeError, match="payment gateway"):
            await orders.outbox.run(work)
        sentinel = order_placed("sentinel")
        await emit(orders, sentinel)
        async with asyncio.timeout(WAIT):
            first = await wire.get()

    assert first.correlation_id == "sentinel"  # nothing went out before it
    assert await db["orders"].count_documents({}) == 0
    assert await db["outbox"].count_documents({"order_id": "doomed"}) == 0


async def test_run_returns_work_result_and_fills_meta(make_db: MakeDb, participant: Build) -> None:
    db = make_db()
    event = events_pb2.OrderCancelled(order_id="o-9", reason="timeout")

    async def work(uow: UnitOfWork) -> str:
        uow.emit(event)
        return "done"

    async with participant("orders", db) as orders:
        assert await orders.outbox.run(work) == "done"

    assert len(event.meta.event_id) == 32
    assert event.meta.HasField("occurred_at")
    stored = await db["outbox"].find_one({"_id": event.meta.event_id})
    assert stored is not None
    assert stored["name"] == "OrderCancelled"
    assert stored["correlation_id"] == "o-9"


async def test_same_event_delivered_three_times_is_applied_once(
    make_db: MakeDb, participant: Build, broker: AbstractRobustConnection, prefix: str
) -> None:
    db = make_db()
    recorder = Recorder(db)
    event = order_placed("dup-order")
    properties: dict[str, Any] = {"message_id": event.meta.event_id, "type": "OrderPlaced"}
    async with participant("inventory", db, {events_pb2.OrderPlaced: recorder}, prefetch=1):
        for _ in range(3):
            await publish_raw(broker, prefix, event.SerializeToString(), "OrderPlaced",
                              **properties)
        sentinel = order_placed("after-dups")
        await publish_raw(broker, prefix, sentinel.SerializeToString(), "OrderPlaced",
                          message_id=sentinel.meta.event_id, type="OrderPlaced")
        await recorder.wait_for(2)

    assert await recorder.effect_count(order_id="dup-order") == 1
    assert await recorder.effect_count(order_id="after-dups") == 1
    assert await db["processed_events"].count_documents({}) == 2


async def test_concurrent_duplicates_are_applied_once(
    make_db: MakeDb, participant: Build, broker: AbstractRobustConnection, prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With prefetch > 1 copies are handled side by side; the unique id still wins."""
    caplog.set_level(logging.INFO, logger="saga._dispatch")
    db = make_db()
    recorder = Recorder(db)
    events = [order_placed(f"c-{i}") for i in range(10)]
    async with participant("inventory", db, {events_pb2.OrderPlaced: recorder}, prefetch=32):
        for event in events:
            for _ in range(3):
                await publish_raw(broker, prefix, event.SerializeToString(), "OrderPlaced",
                                  message_id=event.meta.event_id, type="OrderPlaced")
        async def all_copies_seen() -> bool:
            skipped = [r for r in caplog.records if r.getMessage() == "duplicate event skipped"]
            return len(skipped) == 20

        await eventually(all_copies_seen)

    for event in events:
        assert await recorder.effect_count(order_id=event.order_id) == 1
