"""Inventory's handlers over the in-memory broker: a replay changes and logs nothing."""

from __future__ import annotations

import logging

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from contracts.bookstore.events.v1 import events_pb2 as ev
from contracts.events import new_meta
from inventory.events import EVENTS
from inventory.handlers import InventoryHandlers, subscriptions
from inventory.model import NewBook
from inventory.stock import StockLedger
from inventory.stock_store import StockStore
from inventory.store import BookStore
from runtime.mongo import Document
from saga import Backoff, Delivery, Envelope, InMemoryBroker, SagaParticipant

FAST = Backoff(initial=0.01, maximum=0.05)


def delivery(event: ev.OrderPlaced | ev.OrderConfirmed) -> Delivery:
    name = event.DESCRIPTOR.name
    return Delivery(body=event.SerializeToString(), routing_key=name,
                    message_id=event.meta.event_id, type=name, correlation_id=event.order_id)


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
    placed = ev.OrderPlaced(meta=new_meta(), order_id="o-1", user_id="u", lines=[
        ev.OrderLineItem(book_id=book.id, quantity=2)])
    confirmed = ev.OrderConfirmed(meta=new_meta(), order_id="o-1", payment_reference="p")
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
