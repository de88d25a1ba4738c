"""The inventory participant on a real broker, and a test's own view of the event exchange."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aio_pika
from aio_pika.abc import AbstractExchange, AbstractIncomingMessage, AbstractRobustConnection
from pymongo.asynchronous.database import AsyncDatabase

from contracts.bookstore.events.v1 import events_pb2 as ev
from contracts.events import new_meta
from inventory.events import EVENTS
from inventory.handlers import InventoryHandlers, subscriptions
from inventory.stock import StockLedger
from inventory.stock_store import StockStore
from runtime.mongo import Document
from saga import Backoff, SagaParticipant

WAIT = 30.0  # seconds any one expectation may take before the test fails
REPLIES = ("StockReserved", "StockRejected")


@dataclass
class Wire:
    """Publishes orders' events like the orders service would; collects inventory's replies."""

    exchange: AbstractExchange
    replies: dict[str, list[Any]] = field(default_factory=dict)
    seen: list[Any] = field(default_factory=list)
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def publish(self, event: Any, *, message_id: str | None = None) -> None:
        name = event.DESCRIPTOR.name
        await self.exchange.publish(aio_pika.Message(
            event.SerializeToString(), message_id=message_id or event.meta.event_id, type=name,
            correlation_id=event.order_id, content_type="application/x-protobuf",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT), routing_key=name)

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        event_type = EVENTS.type_of(message.type or "")
        assert event_type is not None, message.type
        event: Any = event_type()
        event.ParseFromString(message.body)
        async with self._arrived:
            self.replies.setdefault(event.order_id, []).append(event)
            self.seen.append(event)
            self._arrived.notify_all()
        await message.ack()

    async def collect(self, count: int, within: float = WAIT) -> list[Any]:
        """Wait until ``count`` replies in all have arrived; every reply seen, in order."""
        async with asyncio.timeout(within), self._arrived:
            await self._arrived.wait_for(lambda: len(self.seen) >= count)
        return list(self.seen)

    async def quiet(self, seconds: float = 1.0) -> int:
        """How many more replies arrive within ``seconds`` (expected: none). A bounded
        negative check: where a later event can be sent, await its reply instead."""
        before = len(self.seen)
        with contextlib.suppress(TimeoutError):
            await self.collect(before + 1, within=seconds)
        return len(self.seen) - before


def order_placed(order_id: str, *lines: tuple[str, int]) -> ev.OrderPlaced:
    return ev.OrderPlaced(meta=new_meta(), order_id=order_id, user_id="u1", lines=[
        ev.OrderLineItem(book_id=b, quantity=q) for b, q in lines])


@asynccontextmanager
async def watching(amqp_url: str, prefix: str) -> AsyncIterator[Wire]:
    """A view of the ``prefix`` exchange; deletes the inventory topology under it afterwards."""
    connection: AbstractRobustConnection = await aio_pika.connect_robust(amqp_url)
    try:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            f"{prefix}.events", aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(exclusive=True)  # gone with the connection
        for name in REPLIES:
            await queue.bind(exchange, routing_key=name)
        wire = Wire(exchange)
        await queue.consume(wire.on_message)
        try:
            yield wire
        finally:
            for name in (f"{prefix}.inventory", f"{prefix}.inventory.dead"):
                await channel.queue_delete(name)
            await channel.exchange_delete(f"{prefix}.inventory.dead")
            await channel.exchange_delete(f"{prefix}.events")
    finally:
        await connection.close()


@asynccontextmanager
async def running_inventory(
    amqp_url: str, db: AsyncDatabase[Document], *, prefix: str | None = None, prefetch: int = 32,
) -> AsyncIterator[Wire]:
    """The participant consuming under a fresh prefix, and the test's view of its exchange."""
    prefix = prefix or fresh_prefix()
    async with watching(amqp_url, prefix) as wire:
        participant = SagaParticipant(
            service="inventory", db=db, amqp_url=amqp_url, prefix=prefix, prefetch=prefetch,
            subscriptions=subscriptions(InventoryHandlers(StockLedger(StockStore(db)))),
            events=EVENTS,
            retry_backoff=Backoff(initial=0.02, maximum=0.5), relay_poll_interval=0.1,
            shutdown_grace=5)
        async with participant:
            yield wire


def fresh_prefix() -> str:
    return f"test.inventory.{uuid.uuid4().hex[:10]}"
