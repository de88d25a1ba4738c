"""The saga handlers run as the consumer runs them: inside ``Outbox.run`` transactions."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from bson import ObjectId
from google.protobuf.message import Message
from pymongo.asynchronous.database import AsyncDatabase

from contracts.bookstore.events.v1 import events_pb2 as ev
from contracts.events import new_meta
from inventory.events import EVENTS
from inventory.handlers import InventoryHandlers
from inventory.model import NewBook
from inventory.stock import StockLedger
from inventory.stock_store import StockStore
from inventory.store import BookStore
from runtime.mongo import Document
from saga import Outbox, PoisonMessage
from tests.integration.inventory.conftest import fresh_isbn

pytestmark = pytest.mark.integration


class Harness:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db
        self.store = BookStore(db)
        self.outbox = Outbox(db, EVENTS)
        self.handlers = InventoryHandlers(StockLedger(StockStore(db)))

    async def book(self, stock: int) -> str:
        book = await self.store.add(NewBook("T", "A", fresh_isbn(), 100, stock, "", 0))
        return book.id

    async def counts(self, book_id: str) -> tuple[int, int, int]:
        doc = await self.db["books"].find_one({"_id": ObjectId(book_id)})
        assert doc is not None
        return doc["available"], doc["reserved"], doc["sold"]

    async def placed(self, order_id: str, *lines: tuple[str, int]) -> None:
        event = ev.OrderPlaced(meta=new_meta(), order_id=order_id, user_id="u", lines=[
            ev.OrderLineItem(book_id=b, quantity=q) for b, q in lines])
        await self.outbox.run(lambda uow: self.handlers.on_order_placed(event, uow))

    async def confirmed(self, order_id: str) -> None:
        event = ev.OrderConfirmed(meta=new_meta(), order_id=order_id, payment_reference="p")
        await self.outbox.run(lambda uow: self.handlers.on_order_confirmed(event, uow))

    async def cancelled(self, order_id: str) -> None:
        event = ev.OrderCancelled(meta=new_meta(), order_id=order_id, reason="test")
        await self.outbox.run(lambda uow: self.handlers.on_order_cancelled(event, uow))

    async def emitted(self, order_id: str) -> list[Any]:
        """The events stored for ``order_id``, oldest first."""
        found: list[Message] = []
        async for doc in self.db["outbox"].find({"correlation_id": order_id}).sort("created_at"):
            event_type = EVENTS.type_of(doc["name"])
            assert event_type is not None
            event = event_type()
            event.ParseFromString(doc["payload"])
            found.append(event)
        return found

    async def state(self, order_id: str) -> str | None:
        doc = await self.db["reservations"].find_one({"_id": order_id})
        return None if doc is None else str(doc["state"])

    async def assert_invariant(self) -> None:
        report = await self.store.check_invariant()
        assert report.violations == []


@pytest.fixture
def h(mongo_db: AsyncDatabase[Document]) -> Harness:
    return Harness(mongo_db)


def order() -> str:
    return uuid.uuid4().hex


async def test_reserve_holds_every_line(h: Harness) -> None:
    a, b = await h.book(5), await h.book(1)
    oid = order()
    await h.placed(oid, (a, 2), (b, 1), (a, 1))
    assert await h.counts(a) == (2, 3, 0)
    assert await h.counts(b) == (0, 1, 0)
    assert await h.state(oid) == "held"
    [reply] = await h.emitted(oid)
    assert isinstance(reply, ev.StockReserved)
    assert [(x.book_id, x.quantity) for x in reply.lines] == [(a, 3), (b, 1)]
    assert reply.meta.event_id
    await h.assert_invariant()


async def test_rejection_reports_every_failing_line_and_holds_nothing(h: Harness) -> None:
    ok, short = await h.book(5), await h.book(2)
    unknown, junk = str(ObjectId()), "no-such-id"
    oid = order()
    await h.placed(oid, (ok, 1), (unknown, 1), (short, 2), (short, 1), (junk, 2))
    assert await h.counts(ok) == (5, 0, 0)
    assert await h.counts(short) == (2, 0, 0)
    assert await h.state(oid) == "rejected"
    [reply] = await h.emitted(oid)
    assert isinstance(reply, ev.StockRejected)
    assert [(x.book_id, x.requested, x.available, x.reason) for x in reply.lines] == [
        (unknown, 1, 0, ev.REJECTION_REASON_UNKNOWN_BOOK),
        (short, 3, 2, ev.REJECTION_REASON_INSUFFICIENT_STOCK),
        (junk, 2, 0, ev.REJECTION_REASON_UNKNOWN_BOOK)]
    await h.assert_invariant()


async def test_bad_quantities_and_empty_orders_are_rejected(h: Harness) -> None:
    book = await h.book(5)
    zero, empty = order(), order()
    await h.placed(zero, (book, 1), (book, -1))
    await h.placed(empty)
    [z] = await h.emitted(zero)
    [e] = await h.emitted(empty)
    assert [(x.book_id, x.reason) for x in z.lines] == [(book, ev.REJECTION_REASON_UNSPECIFIED)]
    assert isinstance(e, ev.StockRejected)
    assert len(e.lines) == 1
    assert await h.counts(book) == (5, 0, 0)


async def test_confirm_sells_once(h: Harness) -> None:
    book = await h.book(3)
    oid = order()
    await h.placed(oid, (book, 2))
    await h.confirmed(oid)
    await h.confirmed(oid)
    assert await h.counts(book) == (1, 0, 2)
    assert await h.state(oid) == "sold"
    assert len(await h.emitted(oid)) == 1
    await h.assert_invariant()


async def test_cancelling_a_sold_order_puts_its_copies_back_once(h: Harness) -> None:
    book = await h.book(3)
    oid = order()
    await h.placed(oid, (book, 2))
    await h.confirmed(oid)
    await h.cancelled(oid)  # cancelled after payment, before shipping
    await h.cancelled(oid)
    await h.confirmed(oid)  # a stray confirmation sells nothing again
    assert await h.counts(book) == (3, 0, 0)
    assert await h.state(oid) == "returned"
    await h.assert_invariant()


async def test_cancel_releases_once(h: Harness) -> None:
    book = await h.book(3)
    oid = order()
    await h.placed(oid, (book, 2))
    await h.cancelled(oid)
    await h.cancelled(oid)
    await h.confirmed(oid)  # too late: nothing is held any more
    assert await h.counts(book) == (3, 0, 0)
    assert await h.state(oid) == "released"
    await h.assert_invariant()


async def test_cancel_before_placed_holds_nothing_later(h: Harness) -> None:
    book = await h.book(3)
    oid = order()
    await h.cancelled(oid)
    assert await h.state(oid) == "cancelled"
    await h.placed(oid, (book, 1))
    await h.placed(oid, (book, 1))
    assert await h.counts(book) == (3, 0, 0)
    [reply] = await h.emitted(oid)
    assert isinstance(reply, ev.StockRejected)
    assert [(x.book_id, x.reason) for x in reply.lines] == [
        (book, ev.REJECTION_REASON_ORDER_CANCELLED)]


async def test_duplicate_placed_reserves_once(h: Harness) -> None:
    book = await h.book(5)
    oid, rejected = order(), order()
    for _ in range(3):
        await h.placed(oid, (book, 2))
        await h.placed(rejected, (book, 50))
    assert await h.counts(book) == (3, 2, 0)
    assert [type(e) for e in await h.emitted(oid)] == [ev.StockReserved]
    assert [type(e) for e in await h.emitted(rejected)] == [ev.StockRejected]


async def test_stock_added_after_a_rejection_does_not_revive_the_order(h: Harness) -> None:
    book = await h.book(0)
    oid = order()
    await h.placed(oid, (book, 1))
    await h.db["books"].update_one({"_id": ObjectId(book)},
                                   {"$inc": {"available": 5, "added_stock": 5}})
    await h.placed(oid, (book, 1))
    assert await h.counts(book) == (5, 0, 0)


async def test_counters_out_of_step_are_poison_and_change_nothing(h: Harness) -> None:
    book = await h.book(3)
    oid = order()
    await h.placed(oid, (book, 2))
    await h.db["books"].update_one({"_id": ObjectId(book)}, {"$set": {"reserved": 1}})
    with pytest.raises(PoisonMessage, match="fewer than 2"):
        await h.confirmed(oid)
    assert await h.state(oid) == "held"
    assert await h.counts(book) == (1, 1, 0)
