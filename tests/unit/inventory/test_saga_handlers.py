"""Inventory's handlers over the in-memory broker: a replay changes and logs nothing, an
expired hold is released once and never sold, an invalid message is never handled."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from contracts.bookstore.events.v1 import events_pb2 as ev
from contracts.events import new_meta
from inventory.events import EVENTS
from inventory.handlers import InventoryHandlers, subscriptions
from inventory.holds import HoldSweeper
from inventory.model import NewBook
from inventory.stock import StockLedger
from inventory.stock_store import StockStore
from inventory.store import BookStore
from runtime.metrics import HOLDS_RELEASED
from runtime.mongo import Document
from saga import Backoff, Delivery, Envelope, InMemoryBroker, Outbox, SagaParticipant
from tests.integration.saga.helpers import eventually

FAST = Backoff(initial=0.01, maximum=0.05)
ORDER = uuid.uuid4().hex


def delivery(event: ev.OrderPlaced | ev.OrderConfirmed, *,
             content_type: str = "application/x-protobuf") -> Delivery:
    name = event.DESCRIPTOR.name
    return Delivery(body=event.SerializeToString(), routing_key=name,
                    message_id=event.meta.event_id, type=name, correlation_id=event.order_id,
                    content_type=content_type)


def answers(broker: InMemoryBroker) -> list[Envelope]:
    return [e for e in broker.published if e.type in ("StockReserved", "StockRejected")]


async def test_a_replayed_confirmation_sells_nothing_twice_and_logs_no_warning(
    mongo_db: AsyncDatabase[Document], caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    store = BookStore(mongo_db)
    await store.ensure_indexes()
    book = await store.add(NewBook("T", "A", "9780306406157", 100, 5, "", 0))
    broker = InMemoryBroker()
    placed = ev.OrderPlaced(meta=new_meta(), order_id=ORDER, user_id="u", lines=[
        ev.OrderLineItem(book_id=book.id, quantity=2)])
    confirmed = ev.OrderConfirmed(meta=new_meta(), order_id=ORDER, payment_reference="p")
    async with SagaParticipant(
            service="inventory", db=mongo_db, transport=broker.transport("inventory"),
            subscriptions=subscriptions(InventoryHandlers(StockLedger(StockStore(mongo_db)))),
            events=EVENTS, retry_backoff=FAST, relay_poll_interval=0.05):
        await broker.deliver("inventory", delivery(placed))
        await broker.idle()
        await broker.deliver("inventory", delivery(confirmed))
        await broker.idle()
        for event in (placed, confirmed):  # a replay of both, as after a broker failover
            await broker.deliver("inventory", delivery(event))
        await broker.idle()

    stored = await mongo_db["books"].find_one({})
    assert stored is not None
    assert (stored["available"], stored["reserved"], stored["sold"]) == (3, 0, 2)
    assert [e.type for e in answers(broker)] == ["StockReserved"]
    messages = [r.getMessage() for r in caplog.records]
    assert "confirmation with nothing held" not in messages
    assert messages.count("duplicate event skipped") == 2


@dataclass
class Inventory:
    db: AsyncDatabase[Document]
    broker: InMemoryBroker
    saga: SagaParticipant
    book: str

    async def counts(self) -> tuple[int, int, int]:
        stored = await self.db["books"].find_one({})
        assert stored is not None
        return stored["available"], stored["reserved"], stored["sold"]

    def sweeper(self) -> HoldSweeper:
        """A sweeper with a zero timeout and its own outbox, as another process would have."""
        stock = StockStore(self.db)
        return HoldSweeper(stock, StockLedger(stock), Outbox(self.db, EVENTS),
                           timeout=timedelta(0), interval=0.05)

    async def send(self, event: ev.OrderPlaced | ev.OrderConfirmed, **kwargs: str) -> None:
        await self.broker.deliver("inventory", delivery(event, **kwargs))
        await self.broker.idle()


@pytest.fixture
async def inventory(mongo_db: AsyncDatabase[Document]) -> AsyncIterator[Inventory]:
    store = BookStore(mongo_db)
    await store.ensure_indexes()
    await StockStore(mongo_db).ensure_indexes()
    book = await store.add(NewBook("T", "A", "9780306406157", 100, 5, "", 0))
    broker = InMemoryBroker()
    async with SagaParticipant(
            service="inventory", db=mongo_db, transport=broker.transport("inventory"),
            subscriptions=subscriptions(InventoryHandlers(StockLedger(StockStore(mongo_db)))),
            events=EVENTS, retry_backoff=FAST, relay_poll_interval=0.05) as saga:
        yield Inventory(mongo_db, broker, saga, book.id)


def placed(order_id: str, book: str, quantity: int = 2) -> ev.OrderPlaced:
    return ev.OrderPlaced(meta=new_meta(), order_id=order_id, user_id="u", lines=[
        ev.OrderLineItem(book_id=book, quantity=quantity)])


async def test_an_expired_hold_is_released_once_reported_and_never_sold(
    inventory: Inventory, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    order_id = uuid.uuid4().hex
    await inventory.send(placed(order_id, inventory.book))
    assert await inventory.counts() == (3, 2, 0)
    before = HOLDS_RELEASED.labels(reason="expired")._value.get()

    # Two instances sweeping at once: the hold is released by exactly one of them.
    first, second = inventory.sweeper(), inventory.sweeper()
    assert sorted(await asyncio.gather(first.sweep_once(), second.sweep_once())) == [0, 1]

    async def reported() -> bool:  # the relay polls for the sweepers' outbox records
        return any(e.type == "StockRejected" for e in inventory.broker.published)

    await eventually(reported)
    await inventory.broker.idle()

    assert await inventory.counts() == (5, 0, 0)
    assert HOLDS_RELEASED.labels(reason="expired")._value.get() == before + 1
    assert "hold expired and released" in [r.getMessage() for r in caplog.records]
    [expired] = [e for e in inventory.broker.published if e.type == "StockRejected"]
    rejection = ev.StockRejected.FromString(expired.body)
    assert rejection.order_id == order_id
    assert [(x.book_id, x.requested, x.reason) for x in rejection.lines] == [
        (inventory.book, 2, ev.REJECTION_REASON_HOLD_EXPIRED)]

    # Orders confirms late: nothing is sold, the copies stay on sale.
    await inventory.send(ev.OrderConfirmed(meta=new_meta(), order_id=order_id,
                                           payment_reference="p"))
    assert await inventory.counts() == (5, 0, 0)
    assert "sale of an expired hold refused" in [r.getMessage() for r in caplog.records]
    reservation = await inventory.db["reservations"].find_one({"_id": order_id})
    assert reservation is not None
    assert reservation["state"] == "expired"


async def test_a_hold_younger_than_the_timeout_stays(inventory: Inventory) -> None:
    await inventory.send(placed(uuid.uuid4().hex, inventory.book))
    stock = StockStore(inventory.db)
    patient = HoldSweeper(stock, StockLedger(stock), inventory.saga.outbox,
                          timeout=timedelta(minutes=5), interval=1)
    assert await patient.sweep_once() == 0
    assert await inventory.counts() == (3, 2, 0)


@pytest.mark.parametrize(("mangle", "reason"), [
    (lambda e: setattr(e, "order_id", ""), "order_id is empty"),
    (lambda e: setattr(e, "order_id", "not-an-order"), "is not 32 lowercase hex digits"),
    (lambda e: e.ClearField("lines"), "it has no lines"),
    (lambda e: setattr(e.lines[0], "quantity", 0), "quantity 0 is below 1"),
    (lambda e: setattr(e.lines[0], "book_id", "b-1"), "book_id 'b-1' is not 24"),
])
async def test_an_invalid_order_is_dead_lettered_with_the_reason_and_never_handled(
    inventory: Inventory, mangle: object, reason: str,
) -> None:
    event = placed(uuid.uuid4().hex, inventory.book)
    mangle(event)  # type: ignore[operator]
    await inventory.send(event)

    [dead] = inventory.broker.dead_letters("inventory")
    assert dead.verdict.error.startswith("InvalidEvent: OrderPlaced is not valid: ")
    assert reason in dead.verdict.error
    assert dead.verdict.attempts == 0
    assert await inventory.counts() == (5, 0, 0)
    assert await inventory.db["processed_events"].count_documents({}) == 0
    assert await inventory.db["reservations"].count_documents({}) == 0
    assert inventory.broker.published == []


@pytest.mark.parametrize("content_type", ["application/json", ""])
async def test_a_wrong_content_type_is_dead_lettered_and_never_handled(
    inventory: Inventory, content_type: str,
) -> None:
    await inventory.send(placed(uuid.uuid4().hex, inventory.book), content_type=content_type)

    [dead] = inventory.broker.dead_letters("inventory")
    assert dead.verdict.error.startswith("UndecodableMessage: content type ")
    assert "is not 'application/x-protobuf'" in dead.verdict.error
    assert await inventory.counts() == (5, 0, 0)
    assert await inventory.db["processed_events"].count_documents({}) == 0
