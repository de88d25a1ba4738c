"""The RabbitMQ transport: the one module that knows aio-pika, exchanges and queues.

Topology, declared idempotently on every connect::

    <prefix>.events          topic exchange, routing key = event name
    <prefix>.<svc>           quorum queue, bound to the events <svc> subscribes to;
                             broker-side dead letters (delivery limit) go to the DLX
    <prefix>.<svc>.dead      fanout exchange and quorum queue for dead letters, consumed
                             by the participant's drain into its database

A replay goes through the default exchange, routing key = the service's queue, so that queue
alone gets it.

Publishing uses a channel with publisher confirms; a batch is sent at once and its confirms
awaited together. The connection is robust: aio-pika reconnects, re-opens the channels (with
confirms), re-declares what they declared and re-consumes; the broker-restart tests check that
for the quorum queue and the confirm channel. Work cut off by a lost channel is cancelled and
left unacked, so the broker delivers it again and deduplication absorbs the repeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

import aio_pika
from aio_pika.abc import (
    AbstractIncomingMessage,
    AbstractRobustChannel,
    AbstractRobustConnection,
    AbstractRobustExchange,
    AbstractRobustQueue,
)

from saga._dead_letters import dead_letter_headers
from saga._envelope import Delivery, Envelope, Topology
from saga._transport import Disposition, OnDeadLetter, OnDelivery, Verdict
from saga.errors import PublishFailed

log = logging.getLogger(__name__)

CONFIRM_TIMEOUT = 10.0
READY_TIMEOUT = 5.0
QUORUM = {"x-queue-type": "quorum"}

class RabbitTransport:
    """:class:`saga.Transport` over RabbitMQ: publishes envelopes with confirms and feeds
    deliveries of one service's quorum queue to a callback. ``on_connection`` hears ``True``
    when the connection opens or reopens and ``False`` when it is lost or closed."""

    def __init__(self, url: str, topology: Topology, *, service: str, prefetch: int,
                 on_connection: Callable[[bool], None] | None = None) -> None:
        self._url = url
        self._on_connection = on_connection
        self._topology = topology
        self._service = service
        self._prefetch = prefetch
        self._connection: AbstractRobustConnection | None = None
        self._publish_channel: AbstractRobustChannel | None = None
        self._exchange: AbstractRobustExchange | None = None
        self._consume_channel: AbstractRobustChannel | None = None
        self._queue: AbstractRobustQueue | None = None
        self._dead_exchange: AbstractRobustExchange | None = None
        self._on_delivery: OnDelivery | None = None
        self._consumer_tag: str | None = None
        self._dead_queue: AbstractRobustQueue | None = None
        self._on_dead_letter: OnDeadLetter | None = None
        self._dead_tag: str | None = None
        self._in_flight: set[asyncio.Task[None]] = set()

    async def connect(self) -> None:
        self._connection = await aio_pika.connect_robust(
            self._url, client_properties={"connection_name": self._service})
        if (report := self._on_connection) is not None:
            self._connection.close_callbacks.add(lambda *_: report(False))
            self._connection.reconnect_callbacks.add(lambda *_: report(True))
            report(True)
        self._publish_channel = await self._connection.channel(publisher_confirms=True)
        self._exchange = await self._publish_channel.declare_exchange(
            self._topology.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        log.info("connected to broker", extra={"service": self._service,
                                               "exchange": self._topology.exchange})

    async def declare_queue(self, event_names: Sequence[str]) -> None:
        """This service's queue, its bindings, and its dead-letter exchange and queue."""
        assert self._connection is not None, "connect first"
        channel = await self._connection.channel(publisher_confirms=True)
        await channel.set_qos(prefetch_count=self._prefetch)
        t = self._topology
        exchange = await channel.declare_exchange(
            t.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        self._dead_exchange = await channel.declare_exchange(
            t.dead_exchange, aio_pika.ExchangeType.FANOUT, durable=True)
        dead_queue = await channel.declare_queue(t.dead_queue, durable=True, arguments=QUORUM)
        await dead_queue.bind(self._dead_exchange)
        self._dead_queue = dead_queue
        self._queue = await channel.declare_queue(
            t.queue, durable=True,
            arguments={**QUORUM, "x-dead-letter-exchange": t.dead_exchange})
        for name in event_names:
            await self._queue.bind(exchange, routing_key=name)
        self._consume_channel = channel

    async def consume(self, on_delivery: OnDelivery) -> None:
        assert self._queue is not None, "declare_queue first"
        self._on_delivery = on_delivery
        self._consumer_tag = await self._queue.consume(self._on_message)

    async def consume_dead_letters(self, on_dead_letter: OnDeadLetter) -> None:
        assert self._dead_queue is not None, "declare_queue first"
        self._on_dead_letter = on_dead_letter
        self._dead_tag = await self._dead_queue.consume(self._on_dead_message)

    async def stop_consuming(self, grace: float) -> None:
        """Take no new messages; give those being handled ``grace`` seconds to finish."""
        await _cancel(self._queue, self._consumer_tag)
        await _cancel(self._dead_queue, self._dead_tag)
        self._consumer_tag = self._dead_tag = None
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=grace)

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None
            if self._on_connection is not None:
                self._on_connection(False)

    async def publish(self, envelopes: Sequence[Envelope]) -> list[BaseException | None]:
        """Send all, await every confirm; per envelope ``None`` (confirmed) or the failure."""
        assert self._publish_channel is not None, "connect first"
        assert self._exchange is not None, "connect first"
        try:
            await asyncio.wait_for(self._publish_channel.ready(), READY_TIMEOUT)
        except TimeoutError:
            failure = PublishFailed("broker connection is not ready")
            return [failure for _ in envelopes]
        exchange = self._exchange
        results = await asyncio.gather(
            *(exchange.publish(to_message(e), e.routing_key, mandatory=False,
                               timeout=CONFIRM_TIMEOUT) for e in envelopes),
            return_exceptions=True)
        return [r if isinstance(r, BaseException) else None for r in results]

    async def redeliver(self, envelopes: Sequence[Envelope]) -> list[BaseException | None]:
        """Through the default exchange, whose routing key is a queue's name: this service's
        queue alone gets them, as if the broker delivered them again."""
        assert self._publish_channel is not None, "connect first"
        try:
            await asyncio.wait_for(self._publish_channel.ready(), READY_TIMEOUT)
        except TimeoutError:
            failure = PublishFailed("broker connection is not ready")
            return [failure for _ in envelopes]
        exchange = self._publish_channel.default_exchange
        results = await asyncio.gather(
            *(exchange.publish(to_message(e), self._topology.queue, mandatory=True,
                               timeout=CONFIRM_TIMEOUT) for e in envelopes),
            return_exceptions=True)
        return [r if isinstance(r, BaseException) else None for r in results]

    async def _on_dead_message(self, message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        assert task is not None
        assert self._on_dead_letter is not None
        self._in_flight.add(task)
        try:
            await self._on_dead_letter(to_delivery(message))
            await message.ack()
        except (aio_pika.exceptions.AMQPError, TimeoutError, ConnectionError, RuntimeError) as exc:
            log.warning("dead letter left in its queue",
                        extra={"event_id": message.message_id, "error": repr(exc)})
            await _nack_quietly(message)
        finally:
            self._in_flight.discard(task)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        assert task is not None
        assert self._on_delivery is not None
        self._in_flight.add(task)
        try:
            verdict = await self._on_delivery(to_delivery(message))
            if verdict.disposition is Disposition.DEAD_LETTER:
                await self._dead_letter(message, verdict)
            await message.ack()
        except (aio_pika.exceptions.AMQPError, TimeoutError, ConnectionError, RuntimeError) as exc:
            # Unacked, the broker delivers it again (to us after a reconnect, or to a peer);
            # the processed_events record makes that redelivery a no-op.
            log.warning("message left for redelivery",
                        extra={"event_id": message.message_id, "error": repr(exc)})
            await _nack_quietly(message)
        finally:
            self._in_flight.discard(task)

    async def _dead_letter(self, message: AbstractIncomingMessage, verdict: Verdict) -> None:
        assert self._dead_exchange is not None
        headers = dead_letter_headers(message.headers, verdict,
                                      routing_key=message.routing_key or "",
                                      service=self._service)
        dead = aio_pika.Message(
            message.body, headers=headers, content_type=message.content_type,
            message_id=message.message_id, type=message.type,
            correlation_id=message.correlation_id, timestamp=message.timestamp,
            app_id=message.app_id, delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
        await self._dead_exchange.publish(
            dead, routing_key=self._topology.dead_queue, timeout=CONFIRM_TIMEOUT)


def to_message(envelope: Envelope) -> aio_pika.Message:
    return aio_pika.Message(
        envelope.body,
        headers=dict(envelope.headers),
        content_type=envelope.content_type,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=envelope.message_id,
        type=envelope.type,
        correlation_id=envelope.correlation_id,
        timestamp=envelope.timestamp,
        app_id=envelope.app_id,
    )


def to_delivery(message: AbstractIncomingMessage) -> Delivery:
    return Delivery(
        body=message.body,
        routing_key=message.routing_key or "",
        message_id=message.message_id,
        type=message.type,
        correlation_id=message.correlation_id,
        headers=dict(message.headers),
        redelivered=bool(message.redelivered),
        content_type=message.content_type or "",
    )


async def _cancel(queue: AbstractRobustQueue | None, tag: str | None) -> None:
    if queue is None or tag is None:
        return
    try:
        await queue.cancel(tag, timeout=READY_TIMEOUT)
    except (aio_pika.exceptions.AMQPError, TimeoutError, ConnectionError, RuntimeError) as exc:
        # A channel closed under us (a reconnect in progress) raises aiormq's
        # ChannelInvalidStateError, a RuntimeError: the broker has dropped the
        # consumer already, so there is nothing left to cancel.
        log.warning("could not cancel consumer", extra={"error": repr(exc)})


async def _nack_quietly(message: AbstractIncomingMessage) -> None:
    # If the channel is gone, the broker requeues everything it had unacked anyway.
    with contextlib.suppress(aio_pika.exceptions.AMQPError, ConnectionError, RuntimeError):
        await message.nack(requeue=True)
