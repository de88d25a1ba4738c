"""The order's payment step over the in-memory broker: charged outside any transaction,
settled once, never charged or refunded again for a replay."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from contracts.bookstore.events.v1 import events_pb2 as ev
from contracts.events import new_meta
from orders.catalogue import CatalogueHandlers
from orders.catalogue_store import CatalogueStore
from orders.events import EVENTS
from orders.handlers import HOLD_EXPIRED, OrderHandlers, subscriptions
from orders.lifecycle import Status
from orders.model import OrderLine, new_order
from orders.payments import PaymentResult, PaymentUnavailable
from orders.store import OrderStore
from runtime.mongo import Document
from saga import Backoff, Delivery, InMemoryBroker, SagaParticipant, in_transaction
from tests.waiting import eventually

FAST = Backoff(initial=0.01, maximum=0.05)
BOOK = "0123456789abcdef01234567"


@dataclass
class FakeGateway:
    """Approves everything, after failing ``unavailable`` times; records each call."""

    unavailable: int = 0
    charges: list[tuple[str, bool]] = field(default_factory=list)
    refunds: list[str] = field(default_factory=list)

    async def charge(self, order_id: str, amount_cents: int, payment_token: str) -> PaymentResult:
        self.charges.append((order_id, in_transaction()))
        if len(self.charges) <= self.unavailable:
            raise PaymentUnavailable("gateway timed out")
        return PaymentResult(approved=True, reference=f"pay_{order_id}")

    async def refund(self, order_id: str) -> None:
        self.refunds.append(order_id)


@dataclass
class Orders:
    store: OrderStore
    gateway: FakeGateway
    broker: InMemoryBroker

    async def reserve(self, order_id: str, *, event_id: str | None = None) -> None:
        event = ev.StockReserved(meta=new_meta(), order_id=order_id,
                                 lines=[ev.OrderLineItem(book_id=BOOK, quantity=1)])
        if event_id:
            event.meta.event_id = event_id
        await self.send(event)

    async def send(self, event: ev.StockReserved | ev.StockRejected) -> None:
        name = event.DESCRIPTOR.name
        await self.broker.deliver("orders", Delivery(
            body=event.SerializeToString(), routing_key=name,
            message_id=event.meta.event_id, type=name))
        await self.broker.idle()

    async def place(self) -> str:
        order = new_order(user_id="u", lines=(OrderLine(BOOK, "T", 1, 700),),
                          payment_token="tok", idempotency_key=None)
        await self.store.insert(order)
        return order.id


@pytest.fixture
async def orders(mongo_db: AsyncDatabase[Document]) -> AsyncIterator[Orders]:
    store = OrderStore(mongo_db)
    await store.ensure_indexes()
    gateway = FakeGateway(unavailable=1)
    broker = InMemoryBroker()
    async with SagaParticipant(
            service="orders", db=mongo_db, transport=broker.transport("orders"),
            subscriptions=subscriptions(OrderHandlers(store, gateway),
                                        CatalogueHandlers(CatalogueStore(mongo_db))),
            events=EVENTS,
            retry_backoff=FAST, relay_poll_interval=0.05):
        yield Orders(store, gateway, broker)


async def test_payment_is_due_then_charged_outside_then_confirmed_once(orders: Orders) -> None:
    order_id = await orders.place()
    await orders.reserve(order_id, event_id="reserved-1")
    await orders.reserve(order_id, event_id="reserved-1")  # a replay
    await orders.reserve(order_id)  # inventory answering twice

    order = await orders.store.get(order_id)
    assert order is not None
    assert order.status is Status.CONFIRMED
    assert order.payment_reference == f"pay_{order_id}"
    assert [h.status for h in order.history] == [Status.PENDING, Status.CONFIRMED]
    assert orders.gateway.charges == [(order_id, False), (order_id, False)]  # one retry
    assert orders.gateway.refunds == []
    raw = await orders.store.orders.find_one({"_id": order_id})
    assert raw is not None
    assert [h.get("step") for h in raw["history"]] == [None, "payment_due", None]

    async def confirmed_once() -> bool:
        return [e.type for e in orders.broker.published] == ["OrderConfirmed"]

    await eventually(confirmed_once)


async def test_a_cancelled_order_is_released_and_owed_a_refund_without_a_charge(
    orders: Orders,
) -> None:
    order_id = await orders.place()
    assert await orders.store.transition(order_id, {Status.PENDING}, Status.CANCELLED,
                                         "timed out")
    await orders.reserve(order_id)
    assert orders.gateway.charges == []
    raw = await orders.store.orders.find_one({"_id": order_id})
    assert raw is not None
    assert raw["refund_due"] is True

    async def released() -> bool:
        return [e.type for e in orders.broker.published] == ["OrderCancelled"]

    await eventually(released)


async def test_a_reservation_for_an_unknown_order_is_answered_with_a_cancellation_once(
    orders: Orders, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    unknown = uuid.uuid4().hex
    await orders.reserve(unknown, event_id="forged-1")
    await orders.reserve(unknown, event_id="forged-1")  # the same message again

    async def released() -> bool:
        return [e.type for e in orders.broker.published] == ["OrderCancelled"]

    await eventually(released)
    assert orders.gateway.charges == []
    assert await orders.store.get(unknown) is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == ["reservation for an unknown order released"]


@pytest.mark.parametrize("paid", [False, True])
async def test_an_expired_hold_cancels_the_order_and_owes_a_refund(
    orders: Orders, paid: bool,
) -> None:
    order_id = await orders.place()
    if paid:
        await orders.reserve(order_id)
        assert (await orders.store.get(order_id)).status is Status.CONFIRMED  # type: ignore[union-attr]
    await orders.send(ev.StockRejected(meta=new_meta(), order_id=order_id, lines=[
        ev.RejectedLine(book_id=BOOK, requested=1, reason=ev.REJECTION_REASON_HOLD_EXPIRED)]))

    order = await orders.store.get(order_id)
    assert order is not None
    assert order.status is Status.CANCELLED
    assert order.reason == HOLD_EXPIRED
    raw = await orders.store.orders.find_one({"_id": order_id})
    assert raw is not None
    assert raw["refund_due"] is True

    async def released() -> bool:
        return [e.type for e in orders.broker.published][-1:] == ["OrderCancelled"]

    await eventually(released)


async def test_a_replay_of_every_event_is_silent_and_charges_or_refunds_nothing(
    orders: Orders, caplog: pytest.LogCaptureFixture,
) -> None:
    order_id = await orders.place()
    reserved = ev.StockReserved(meta=new_meta(), order_id=order_id,
                                lines=[ev.OrderLineItem(book_id=BOOK, quantity=1)])
    await orders.send(reserved)
    assert (await orders.store.get(order_id)).status is Status.CONFIRMED  # type: ignore[union-attr]
    charges, refunds = list(orders.gateway.charges), list(orders.gateway.refunds)
    caplog.clear()
    caplog.set_level(logging.INFO)

    for _ in range(3):
        await orders.send(reserved)

    assert (orders.gateway.charges, orders.gateway.refunds) == (charges, refunds)
    business = [r for r in caplog.records if r.name.startswith("orders")]
    assert business == []
    assert [r.getMessage() for r in caplog.records if r.name.startswith("saga")] == [
        "duplicate event skipped"] * 3
