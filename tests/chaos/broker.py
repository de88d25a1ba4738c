"""What the chaos tests do to the broker: restart it, tap the event exchange, inject copies of
real events and poison, and see that the dead-letter queues are drained."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aio_pika
from aio_pika.abc import AbstractExchange, AbstractIncomingMessage

from tests.integration.saga.test_broker_restart import rabbitmqctl

RABBIT_DOWN_SECONDS = 5.0


async def restart_rabbitmq() -> None:
    """Stop the node's app, hold the outage, start it again; the broker is left running even
    when stopping or the wait fails."""
    try:
        await rabbitmqctl("stop_app")
        await asyncio.sleep(RABBIT_DOWN_SECONDS)  # the outage itself
    finally:
        await rabbitmqctl("start_app")
        await rabbitmqctl("await_startup")


def exchange_of(prefix: str) -> str:
    return f"{prefix}.events"


def copy_of(message: AbstractIncomingMessage) -> aio_pika.Message:
    """The same message again: body, id, type and every property, as a redelivery would be."""
    return aio_pika.Message(
        message.body, headers=dict(message.headers), content_type=message.content_type,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT, message_id=message.message_id,
        type=message.type, correlation_id=message.correlation_id,
        timestamp=message.timestamp, app_id=message.app_id)


@dataclass
class Duplicator:
    """Republishes every event it sees on the exchange ``copies`` more times, once per id."""

    copies: int = 2
    seen: set[str] = field(default_factory=set)
    duplicated: Counter[str] = field(default_factory=Counter)  # by event type

    async def on_event(self, message: AbstractIncomingMessage, exchange: AbstractExchange
                       ) -> None:
        async with message.process():
            event_id = message.message_id or ""
            if event_id in self.seen:  # one of our own copies coming round again
                return
            self.seen.add(event_id)
            for _ in range(self.copies):
                await exchange.publish(copy_of(message), routing_key=message.routing_key or "")
            self.duplicated[message.type or ""] += 1


@asynccontextmanager
async def duplicating(amqp_url: str, prefix: str, copies: int = 2
                      ) -> AsyncIterator[Duplicator]:
    """A tap queue of our own on the events exchange; every event through it is repeated."""
    duplicator = Duplicator(copies)
    connection = await aio_pika.connect(amqp_url, timeout=10)
    async with connection:
        tap_channel = await connection.channel()
        publish_channel = await connection.channel(publisher_confirms=True)
        exchange = await publish_channel.get_exchange(exchange_of(prefix))
        tap = await tap_channel.declare_queue(exclusive=True, auto_delete=True)
        await tap.bind(exchange_of(prefix), routing_key="#")
        async def on_message(message: AbstractIncomingMessage) -> None:
            await duplicator.on_event(message, exchange)

        tag = await tap.consume(on_message)
        try:
            yield duplicator
        finally:
            await tap.cancel(tag)


@dataclass(frozen=True)
class Poison:
    """A message no consumer can handle, and the dead-letter queue it must end up in."""

    routing_key: str
    type: str
    body: bytes
    service: str  # whose queue the routing key reaches


POISON = (
    # A known event whose body is not that event at all.
    Poison("OrderPlaced", "OrderPlaced", b"\xff\xff not a protobuf \xff\xff", "inventory"),
    # A well-formed message of a type nobody knows, on a key the orders service takes.
    Poison("StockReserved", "BookBurned", b"\x0a\x03abc", "orders"),
)


async def inject_poison(amqp_url: str, prefix: str) -> dict[str, str]:
    """Publish every :data:`POISON` message; returns their ids mapped to the expected queue."""
    sent: dict[str, str] = {}
    connection = await aio_pika.connect(amqp_url, timeout=10)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(exchange_of(prefix))
        for poison in POISON:
            message_id = uuid.uuid4().hex
            await exchange.publish(aio_pika.Message(
                poison.body, message_id=message_id, type=poison.type,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT), routing_key=poison.routing_key)
            sent[message_id] = poison.service
    return sent


async def dead_letter_queue_lengths(amqp_url: str, prefix: str, services: tuple[str, ...]
                                    ) -> dict[str, int]:
    """Messages still waiting in each service's dead-letter queue: each service drains its
    own into its database's ``dead_letters``, so these fall to 0."""
    lengths: dict[str, int] = {}
    connection = await aio_pika.connect(amqp_url, timeout=10)
    async with connection:
        channel = await connection.channel()
        for service in services:
            queue = await channel.get_queue(f"{prefix}.{service}.dead", ensure=True)
            lengths[service] = queue.declaration_result.message_count or 0
    return lengths
