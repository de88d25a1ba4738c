"""Helpers for saga tests: a recording handler, emitting, raw publishing, peeking at queues
and at kept dead letters."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection
from google.protobuf.message import Message
from pymongo.asynchronous.database import AsyncDatabase

from contracts.bookstore.events.v1 import events_pb2
from contracts.events import new_meta
from runtime.mongo import Document
from saga import Backoff, EventRegistry, PoisonMessage, SagaParticipant, UnitOfWork
from tests.waiting import eventually as eventually  # re-exported: saga tests import it here

WAIT = 15.0  # seconds any single expectation may take before the test fails
FAST = Backoff(initial=0.02, maximum=0.2)
# The test events: bookstore's, as any service would register its own.
EVENTS = EventRegistry(
    [events_pb2.OrderPlaced, events_pb2.StockReserved, events_pb2.StockRejected,
     events_pb2.OrderConfirmed, events_pb2.OrderCancelled],
    correlation_id=lambda event: event.order_id)


@dataclass
class Recorder:
    """A handler that records each event and, in the transaction, writes an effect document.

    ``seen`` may count an attempt whose transaction was later retried; the ``effects``
    collection holds only what committed, so exactly-once checks count that.
    """

    db: AsyncDatabase[Document]
    fail_times: int = 0
    poison_order: str | None = None
    seen: list[Any] = field(default_factory=list)
    calls: int = 0
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def __call__(self, event: Any, uow: UnitOfWork) -> None:
        self.calls += 1
        if self.calls <= self.fail_times:
            raise ConnectionError(f"simulated outage {self.calls}")
        if event.order_id == self.poison_order:
            raise PoisonMessage(f"order {event.order_id} cannot be handled")
        await self.db["effects"].insert_one(
            {"order_id": event.order_id, "event_id": event.meta.event_id}, session=uow.session)
        async with self._changed:
            self.seen.append(event)
            self._changed.notify_all()

    async def wait_for(self, count: int, within: float = WAIT) -> list[Any]:
        """Wait until ``count`` different events were seen (a duplicate is seen again, then
        thrown away with its transaction)."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(
                lambda: len({e.meta.event_id for e in self.seen}) >= count)
        return list(self.seen)

    async def effect_count(self, **query: Any) -> int:
        return await self.db["effects"].count_documents(query)


def order_placed(order_id: str | None = None) -> events_pb2.OrderPlaced:
    return events_pb2.OrderPlaced(
        meta=new_meta(), order_id=order_id or uuid.uuid4().hex, user_id="u1",
        lines=[events_pb2.OrderLineItem(book_id="b1", quantity=1)])


async def emit(participant: SagaParticipant, *events: Message) -> None:
    """Store events through the outbox, the only way services publish."""

    async def work(uow: UnitOfWork) -> None:
        for event in events:
            uow.emit(event)

    await participant.outbox.run(work)


async def publish_raw(
    connection: AbstractRobustConnection, prefix: str, body: bytes, routing_key: str,
    **properties: Any,
) -> None:
    """Put a message on the events exchange directly, as a misbehaving peer could (marked
    protobuf unless ``content_type`` says otherwise)."""
    properties.setdefault("content_type", "application/x-protobuf")
    channel = await connection.channel(publisher_confirms=True)
    exchange = await channel.get_exchange(f"{prefix}.events")
    await exchange.publish(aio_pika.Message(body, **properties), routing_key=routing_key)
    await channel.close()


@contextlib.asynccontextmanager
async def spy(
    connection: AbstractRobustConnection, prefix: str
) -> AsyncIterator[asyncio.Queue[AbstractIncomingMessage]]:
    """Everything published to the events exchange while inside, as received."""
    received: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
    channel = await connection.channel()
    exchange = await channel.declare_exchange(
        f"{prefix}.events", aio_pika.ExchangeType.TOPIC, durable=True)
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    await queue.bind(exchange, "#")

    async def on_message(message: AbstractIncomingMessage) -> None:
        await message.ack()
        received.put_nowait(message)

    await queue.consume(on_message)
    try:
        yield received
    finally:
        await channel.close()


async def kept_dead_letters(db: AsyncDatabase[Document], count: int) -> list[Document]:
    """Wait (at most WAIT) until the participant has drained ``count`` dead letters from its
    queue into its ``dead_letters`` collection; returns them."""
    async def drained() -> list[Document] | None:
        found = await db["dead_letters"].find().to_list()
        return found if len(found) >= count else None

    return await eventually(drained, WAIT, what=f"{count} dead letters kept")


async def dead_letter_queue_length(
    connection: AbstractRobustConnection, prefix: str, service: str
) -> int:
    """Messages waiting in the broker's dead-letter queue, not yet drained."""
    channel = await connection.channel()
    queue = await channel.get_queue(f"{prefix}.{service}.dead")
    count = queue.declaration_result.message_count or 0
    await channel.close()
    return count
