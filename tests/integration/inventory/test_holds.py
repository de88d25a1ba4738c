"""Inventory alone on a real broker: a hold nobody settles is released after the hold
timeout, and a message that is no valid event is dead-lettered with the reason, unhandled."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import aio_pika
import pytest
from prometheus_client import REGISTRY
from pymongo.asynchronous.database import AsyncDatabase

from contracts.bookstore.events.v1 import events_pb2 as ev
from inventory.events import EVENTS
from inventory.holds import HoldSweeper
from inventory.stock import StockLedger
from inventory.stock_store import StockStore
from runtime.mongo import Document
from saga import Outbox
from tests.integration.inventory.broker import (
    fresh_prefix,
    order_placed,
    running_inventory,
)
from tests.integration.inventory.test_broker import add_book, counts, has_counts
from tests.integration.saga.helpers import kept_dead_letters
from tests.waiting import eventually

pytestmark = pytest.mark.integration

PROTOBUF = "application/x-protobuf"


def expired_total() -> float:
    return REGISTRY.get_sample_value("bookstore_holds_released_total",
                                     {"reason": "expired"}) or 0.0


@contextlib.asynccontextmanager
async def sweeping(db: AsyncDatabase[Document], hold: timedelta) -> AsyncIterator[None]:
    """The hold sweeper running as the service runs it, next to the participant."""
    stock = StockStore(db)
    await stock.ensure_indexes()
    sweeper = HoldSweeper(stock, StockLedger(stock), Outbox(db, EVENTS), timeout=hold,
                          interval=0.1)
    task = asyncio.create_task(sweeper.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_hold_nobody_settles_is_released_after_the_hold_timeout(
    amqp_url: str, mongo_db: AsyncDatabase[Document], caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    book = await add_book(mongo_db, 5)
    order_id = uuid.uuid4().hex
    released_before = expired_total()
    async with (running_inventory(amqp_url, mongo_db) as wire,
                sweeping(mongo_db, timedelta(seconds=1))):
        await wire.publish(order_placed(order_id, (book, 2)))  # orders never answers
        reserved, rejected = await wire.collect(2)
        await eventually(lambda: has_counts(mongo_db, book, (5, 0, 0)))

    assert isinstance(reserved, ev.StockReserved)
    assert isinstance(rejected, ev.StockRejected)
    assert rejected.order_id == order_id
    assert [(x.book_id, x.requested, x.reason) for x in rejected.lines] == [
        (book, 2, ev.REJECTION_REASON_HOLD_EXPIRED)]
    assert expired_total() == released_before + 1
    logged = [r for r in caplog.records if r.getMessage() == "hold expired and released"]
    assert [(r.levelno, getattr(r, "order_id", None)) for r in logged] == [
        (logging.WARNING, order_id)]
    reservation = await mongo_db["reservations"].find_one({"_id": order_id})
    assert reservation is not None
    assert reservation["state"] == "expired"


def _mangled(change: Callable[[ev.OrderPlaced], None], book: str) -> ev.OrderPlaced:
    event = order_placed(uuid.uuid4().hex, (book, 1))
    change(event)
    return event


async def test_invalid_messages_are_dead_lettered_with_the_reason_and_never_handled(
    amqp_url: str, mongo_db: AsyncDatabase[Document],
) -> None:
    book = await add_book(mongo_db, 5)
    fine = order_placed(uuid.uuid4().hex, (book, 1))
    cases: list[tuple[ev.OrderPlaced, str, str]] = [
        (fine, "application/json",
         "UndecodableMessage: content type 'application/json' is not 'application/x-protobuf'"),
        (fine, "", "UndecodableMessage: content type '(none)' is not"),
        (_mangled(lambda e: setattr(e, "order_id", ""), book), PROTOBUF,
         "InvalidEvent: OrderPlaced is not valid: order_id is empty"),
        (_mangled(lambda e: setattr(e, "order_id", "order-1"), book), PROTOBUF,
         "InvalidEvent: OrderPlaced is not valid: order_id 'order-1' is not 32"),
        (_mangled(lambda e: e.ClearField("lines"), book), PROTOBUF,
         "InvalidEvent: OrderPlaced is not valid: it has no lines"),
        (_mangled(lambda e: setattr(e.lines[0], "quantity", 0), book), PROTOBUF,
         f"InvalidEvent: OrderPlaced is not valid: book {book}: quantity 0 is below 1"),
        (_mangled(lambda e: setattr(e.lines[0], "book_id", "ISBN-1"), book), PROTOBUF,
         "InvalidEvent: OrderPlaced is not valid: book_id 'ISBN-1' is not 24"),
    ]
    prefix = fresh_prefix()
    sent: dict[str, str] = {}
    async with running_inventory(amqp_url, mongo_db, prefix=prefix) as wire:
        for event, content_type, reason in cases:
            message_id = uuid.uuid4().hex
            sent[message_id] = reason
            properties: dict[str, Any] = {"content_type": content_type} if content_type else {}
            await wire.exchange.publish(aio_pika.Message(
                event.SerializeToString(), message_id=message_id, type="OrderPlaced",
                **properties), routing_key="OrderPlaced")
        dead = await kept_dead_letters(mongo_db, len(cases))
        assert await wire.quiet(0.5) == 0  # no reply: nothing was handled

    errors = {d["_id"]: d["error"] for d in dead}
    assert set(errors) == set(sent)
    for message_id, reason in sent.items():
        assert errors[message_id].startswith(reason), errors[message_id]
    assert all(d["attempts"] == 0 for d in dead)
    assert await counts(mongo_db, book) == (5, 0, 0)
    assert await mongo_db["processed_events"].count_documents({}) == 0
    assert await mongo_db["reservations"].count_documents({}) == 0
