"""An in-memory broker, so the dispatcher, the relay and handlers are tested without RabbitMQ.

It keeps RabbitMQ's semantics that saga relies on: a topic exchange routing by event name to
every queue bound to it, a queue per service whose deliveries are handled ``prefetch`` at a
time, dead letters with the same headers (drained by the participant as from RabbitMQ),
replays straight to a service's own queue, and redelivery of whatever was being handled when
consuming stopped. Publishing confirms at once unless the test makes the broker refuse::

    broker = InMemoryBroker()
    async with SagaParticipant(service="inventory", db=db, transport=broker.transport("inventory"),
                               subscriptions=..., events=...) as saga:
        await peer.outbox.run(work)            # emits, relayed through the broker
        await broker.idle()                    # every queue drained
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from saga._dead_letters import dead_letter_headers
from saga._envelope import Delivery, Envelope
from saga._transport import Disposition, OnDeadLetter, OnDelivery, Verdict
from saga.errors import PublishFailed


@dataclass
class DeadLetter:
    delivery: Delivery
    verdict: Verdict


@dataclass
class _Queue:
    bindings: set[str] = field(default_factory=set)
    messages: asyncio.Queue[Delivery] = field(default_factory=asyncio.Queue)
    dead: list[DeadLetter] = field(default_factory=list)  # every message ever dead-lettered
    dead_queue: asyncio.Queue[Delivery] = field(default_factory=asyncio.Queue)  # not drained yet
    busy: int = 0
    draining: bool = False


class InMemoryBroker:
    """One broker shared by the participants of a test; see the module docstring."""

    def __init__(self) -> None:
        self.published: list[Envelope] = []
        self.refusing = False  # when set, no publish is confirmed (a broker outage)
        self._queues: dict[str, _Queue] = {}
        self._changed = asyncio.Condition()

    def transport(self, service: str, *, prefetch: int = 4) -> InMemoryTransport:
        """A transport for ``service``: its queue, its dead letters."""
        return InMemoryTransport(self, service, prefetch=prefetch)

    def dead_letters(self, service: str) -> list[DeadLetter]:
        """Every message ``service`` dead-lettered, drained or not."""
        return list(self._queue(service).dead)

    async def route(self, envelope: Envelope) -> None:
        self.published.append(envelope)
        delivery = Delivery(body=envelope.body, routing_key=envelope.routing_key,
                            message_id=envelope.message_id, type=envelope.type,
                            correlation_id=envelope.correlation_id,
                            headers=dict(envelope.headers),
                            content_type=envelope.content_type)
        for queue in self._queues.values():
            if envelope.routing_key in queue.bindings:
                queue.messages.put_nowait(delivery)
        await self._notify()

    async def deliver(self, service: str, delivery: Delivery) -> None:
        """Put ``delivery`` straight on a service's queue (a raw or repeated message)."""
        self._queue(service).messages.put_nowait(delivery)
        await self._notify()

    async def idle(self, within: float = 10.0) -> None:
        """Wait until every queue is empty and nothing is being handled."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: all(
                q.messages.empty() and not q.busy and (q.dead_queue.empty() or not q.draining)
                for q in self._queues.values()))

    async def idle_queue(self, service: str, within: float) -> None:
        """Wait until nothing of ``service``'s queue is being handled."""
        queue = self._queue(service)
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: not queue.busy)

    def _queue(self, service: str) -> _Queue:
        return self._queues.setdefault(service, _Queue())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()


class InMemoryTransport:
    """:class:`saga.Transport` over an :class:`InMemoryBroker`."""

    def __init__(self, broker: InMemoryBroker, service: str, *, prefetch: int) -> None:
        self._broker = broker
        self._service = service
        self._prefetch = prefetch
        self._workers: list[asyncio.Task[None]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        return None

    async def declare_queue(self, event_names: Sequence[str]) -> None:
        self._broker._queue(self._service).bindings.update(event_names)

    async def consume(self, on_delivery: OnDelivery) -> None:
        queue = self._broker._queue(self._service)
        self._workers = [asyncio.create_task(self._work(queue, on_delivery))
                         for _ in range(self._prefetch)]

    async def _work(self, queue: _Queue, on_delivery: OnDelivery) -> None:
        while True:
            delivery = await queue.messages.get()
            queue.busy += 1
            try:
                verdict = await on_delivery(delivery)
            except asyncio.CancelledError:
                queue.messages.put_nowait(replace(delivery, redelivered=True))
                raise
            finally:
                queue.busy -= 1
            if verdict.disposition is Disposition.DEAD_LETTER:
                queue.dead.append(DeadLetter(delivery, verdict))
                headers = dead_letter_headers(delivery.headers, verdict,
                                              routing_key=delivery.routing_key,
                                              service=self._service)
                queue.dead_queue.put_nowait(replace(delivery, headers=headers))
            await self._broker._notify()

    async def consume_dead_letters(self, on_dead_letter: OnDeadLetter) -> None:
        queue = self._broker._queue(self._service)
        queue.draining = True
        self._drainer = asyncio.create_task(self._drain(queue, on_dead_letter))

    async def _drain(self, queue: _Queue, on_dead_letter: OnDeadLetter) -> None:
        while True:
            delivery = await queue.dead_queue.get()
            queue.busy += 1
            try:
                await on_dead_letter(delivery)
            except asyncio.CancelledError:
                queue.dead_queue.put_nowait(delivery)
                raise
            finally:
                queue.busy -= 1
            await self._broker._notify()

    async def redeliver(self, envelopes: Sequence[Envelope]) -> list[BaseException | None]:
        results: list[BaseException | None] = []
        for envelope in envelopes:
            if self._broker.refusing:
                results.append(PublishFailed("in-memory broker refuses: outage simulated"))
                continue
            await self._broker.deliver(self._service, Delivery(
                body=envelope.body, routing_key=self._service, message_id=envelope.message_id,
                type=envelope.type, correlation_id=envelope.correlation_id,
                headers=dict(envelope.headers), content_type=envelope.content_type))
            results.append(None)
        return results

    async def stop_consuming(self, grace: float) -> None:
        """Stop taking deliveries; what is being handled after ``grace`` goes back."""
        workers, self._workers = self._workers, []
        if self._drainer is not None:
            workers.append(self._drainer)
            self._drainer = None
            self._broker._queue(self._service).draining = False
        if self._broker._queue(self._service).busy:
            with contextlib.suppress(TimeoutError):
                await self._broker.idle_queue(self._service, within=grace)
        for worker in workers:
            worker.cancel()
        for worker in workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    async def close(self) -> None:
        await self.stop_consuming(0)

    async def publish(self, envelopes: Sequence[Envelope]) -> list[BaseException | None]:
        results: list[BaseException | None] = []
        for envelope in envelopes:
            if self._broker.refusing:
                results.append(PublishFailed("in-memory broker refuses: outage simulated"))
            else:
                await self._broker.route(envelope)
                results.append(None)
        return results
