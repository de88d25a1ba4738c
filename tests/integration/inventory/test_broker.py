"""Inventory in the saga over a real broker: replies, redelivery and concurrent orders."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase

from contracts.bookstore.events.v1 import events_pb2 as ev
from inventory.model import NewBook
from inventory.store import BookStore
from runtime.mongo import Document
from tests.integration.inventory.broker import WAIT, order_placed, running_inventory
from tests.integration.inventory.conftest import fresh_isbn
from tests.waiting import eventually

pytestmark = pytest.mark.integration


async def add_book(db: AsyncDatabase[Document], stock: int) -> str:
    store = BookStore(db)
    await store.ensure_indexes()
    return (await store.add(NewBook("T", "A", fresh_isbn(), 100, stock, "", 0))).id


async def counts(db: AsyncDatabase[Document], book_id: str) -> tuple[int, int, int]:
    doc = await db["books"].find_one({"_id": ObjectId(book_id)})
    assert doc is not None
    return doc["available"], doc["reserved"], doc["sold"]


async def has_counts(
    db: AsyncDatabase[Document], book_id: str, expected: tuple[int, int, int]
) -> bool:
    return await counts(db, book_id) == expected


async def processed(db: AsyncDatabase[Document], count: int) -> bool:
    return await db["processed_events"].count_documents({}) >= count


async def test_order_placed_is_answered_on_the_exchange(
    amqp_url: str, mongo_db: AsyncDatabase[Document]
) -> None:
    book = await add_book(mongo_db, 2)
    ok, short, unknown = (uuid.uuid4().hex for _ in range(3))
    async with running_inventory(amqp_url, mongo_db) as wire:
        await wire.publish(order_placed(ok, (book, 2)))
        await wire.collect(1)  # the consumer handles messages concurrently: order them here
        await wire.publish(order_placed(short, (book, 1)))
        await wire.publish(order_placed(unknown, (str(ObjectId()), 1)))
        await wire.collect(3)
    [reserved], [rejected], [missing] = wire.replies[ok], wire.replies[short], wire.replies[unknown]
    assert isinstance(reserved, ev.StockReserved)
    assert [(x.book_id, x.quantity) for x in reserved.lines] == [(book, 2)]
    assert [(x.reason, x.available) for x in rejected.lines] == [
        (ev.REJECTION_REASON_INSUFFICIENT_STOCK, 0)]
    assert [x.reason for x in missing.lines] == [ev.REJECTION_REASON_UNKNOWN_BOOK]
    assert await counts(mongo_db, book) == (0, 2, 0)


async def test_full_saga_sells_and_releases(
    amqp_url: str, mongo_db: AsyncDatabase[Document]
) -> None:
    book = await add_book(mongo_db, 5)
    paid, failed = uuid.uuid4().hex, uuid.uuid4().hex
    async with running_inventory(amqp_url, mongo_db) as wire:
        await wire.publish(order_placed(paid, (book, 2)))
        await wire.publish(order_placed(failed, (book, 3)))
        assert {type(r) for r in await wire.collect(2)} == {ev.StockReserved}
        await wire.publish(ev.OrderConfirmed(meta=order_placed("").meta, order_id=paid))
        await wire.publish(ev.OrderCancelled(meta=order_placed("").meta, order_id=failed))
        await eventually(lambda: has_counts(mongo_db, book, (3, 0, 2)), WAIT)
    report = await BookStore(mongo_db).check_invariant()
    assert (report.books_checked, report.violations) == (1, [])


async def test_same_order_delivered_three_times_reserves_once(
    amqp_url: str, mongo_db: AsyncDatabase[Document]
) -> None:
    book = await add_book(mongo_db, 10)
    oid = uuid.uuid4().hex
    event = order_placed(oid, (book, 4))
    async with running_inventory(amqp_url, mongo_db) as wire:
        for _ in range(3):
            await wire.publish(event)
        # The same order again under a new event id: dedup cannot catch it, the state can.
        again = order_placed(oid, (book, 4))
        await wire.publish(again)
        await wire.collect(1)
        await eventually(lambda: processed(mongo_db, 2), WAIT)
        # A later order's reply comes after any reply the copies could have caused.
        later = uuid.uuid4().hex
        await wire.publish(order_placed(later, (await add_book(mongo_db, 1), 1)))
        await wire.collect(2)
    assert [reply.order_id for reply in wire.seen] == [oid, later]
    assert [type(e) for e in wire.replies[oid]] == [ev.StockReserved]
    assert await counts(mongo_db, book) == (6, 4, 0)


async def test_concurrent_orders_never_oversell(
    amqp_url: str, mongo_db: AsyncDatabase[Document]
) -> None:
    book = await add_book(mongo_db, 25)
    orders = [uuid.uuid4().hex for _ in range(200)]
    lowest = [25, 0]
    async with running_inventory(amqp_url, mongo_db) as wire:
        await asyncio.gather(*(wire.publish(order_placed(o, (book, 1))) for o in orders))
        collecting = asyncio.create_task(wire.collect(200, within=90))
        while not collecting.done():
            available, reserved, _ = await counts(mongo_db, book)
            lowest = [min(lowest[0], available), min(lowest[1], reserved)]
            await asyncio.wait({collecting}, timeout=0.05)
        replies = collecting.result()
    kinds = [type(r).__name__ for r in replies]
    assert (kinds.count("StockReserved"), kinds.count("StockRejected")) == (25, 175)
    assert {o for o, r in wire.replies.items() if len(r) == 1} == set(orders)
    assert await counts(mongo_db, book) == (0, 25, 0)
    assert min(lowest) >= 0
    assert await mongo_db["reservations"].count_documents({"state": "held"}) == 25
    report = await BookStore(mongo_db).check_invariant()
    assert report.violations == []
