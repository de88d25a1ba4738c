"""One service's place in the saga: its outbox relay and, if it subscribes to events, its consumer.

A service lists its events in an :class:`EventRegistry` and its subscriptions in one table,
and wraps its server in this::

    subscriptions = Subscriptions().on(ev.OrderPlaced, handlers.on_order_placed)
    async with SagaParticipant(service="inventory", db=db, amqp_url=url, events=EVENTS,
                               subscriptions=subscriptions) as saga:
        ...  # RPCs call saga.outbox.run(work)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from types import TracebackType

from google.protobuf.message import Message
from pymongo.asynchronous.database import AsyncDatabase

from saga._dead_letters import DeadLetterDrain, DeadLetterStore
from saga._dispatch import Dispatcher
from saga._envelope import Topology
from saga._observing import (
    DEFAULT_BACKLOG_INTERVAL,
    BacklogSampler,
    ObservedPublisher,
    observe_dispatch,
)
from saga._rabbitmq import RabbitTransport
from saga._registry import EventRegistry
from saga._relay import DEFAULT_LEASE, DEFAULT_MAX_ATTEMPTS, RELAY_BACKOFF, Relay
from saga._runner import Outbox
from saga._store import Document
from saga._subscriptions import Handler, Subscriptions
from saga._transport import Transport
from saga.observer import NO_OBSERVER, SagaObserver
from saga.operations import SagaOperations
from saga.retry import Backoff
from saga.tracing import MessagingTracing

log = logging.getLogger(__name__)

HANDLER_BACKOFF = Backoff()
# Messages a consumer holds unacknowledged, so handles side by side. Measured with
# ``python -m bench`` (16 customers): 4 gave the most orders/s and the tightest tail
# (confirm p95 0.74 s, against 2.2 s at 32 and 128): more transactions at once than the
# database runs in parallel only queue inside it, and unfairly.
DEFAULT_PREFETCH = 4


class SagaParticipant:
    """Connects (robustly), declares the topology, runs the relay and the consumer.

    On exit it stops taking messages, lets those being handled finish (``shutdown_grace``),
    flushes the relay and closes the connection. Its dead-letter queue is drained into the
    ``dead_letters`` collection, where :attr:`operations` lists, replays and purges them.
    ``transport`` replaces RabbitMQ at
    ``amqp_url`` (e.g. an :class:`InMemoryBroker`'s); ``events`` is the service's registry
    (without one, any message with a ``meta`` field may be emitted, uncorrelated).
    ``observer`` hears what the saga does (:mod:`saga.observer`); given one, the outbox
    backlog is sampled for it every ``backlog_interval`` seconds.
    """

    def __init__(
        self,
        *,
        service: str,
        db: AsyncDatabase[Document],
        amqp_url: str = "",
        subscriptions: Subscriptions | Mapping[type[Message], Handler] | None = None,
        prefix: str = "bookstore",
        prefetch: int = DEFAULT_PREFETCH,
        max_attempts: int = 5,
        retry_backoff: Backoff = HANDLER_BACKOFF,
        relay_poll_interval: float = 0.5,
        relay_lease: timedelta = DEFAULT_LEASE,
        shutdown_grace: float = 10.0,
        events: EventRegistry | None = None,
        transport: Transport | None = None,
        relay_backoff: Backoff = RELAY_BACKOFF,
        relay_max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        observer: SagaObserver = NO_OBSERVER,
        backlog_interval: float = DEFAULT_BACKLOG_INTERVAL,
    ) -> None:
        self.service = service
        self.topology = Topology(prefix, service)
        self.outbox = Outbox(db, events)
        table = Subscriptions.of(subscriptions)
        self._dispatcher = (
            Dispatcher(self.outbox, table, max_attempts=max_attempts, backoff=retry_backoff)
            if table else None)
        if transport is None:
            if not amqp_url:
                raise ValueError("give an amqp_url or a transport")
            transport = RabbitTransport(amqp_url, self.topology, service=service,
                                        prefetch=prefetch, on_connection=observer.broker_connected)
        self._transport = transport
        self._observer = observer
        self._backlog = (None if observer is NO_OBSERVER else
                         BacklogSampler(self.outbox.store, observer, interval=backlog_interval))
        self._tracing = MessagingTracing(self.outbox.registry, self.topology.exchange,
                                         self.topology.queue)
        self._relay = Relay(self.outbox.store, ObservedPublisher(transport, observer),
                            app_id=service,
                            poll_interval=relay_poll_interval, lease=relay_lease,
                            backoff=relay_backoff, max_attempts=relay_max_attempts,
                            tracing=self._tracing)
        self._grace = shutdown_grace
        self._dead_letters = DeadLetterStore(db)
        self.operations = SagaOperations(
            dead_letters=self._dead_letters, outbox=self.outbox.store, transport=transport,
            topology=self.topology, registry=self.outbox.registry, app_id=service)

    async def __aenter__(self) -> SagaParticipant:
        await self.outbox.ensure_indexes()
        if self._dispatcher is not None:
            await self._dispatcher.ensure_indexes()
            await self._dead_letters.ensure_indexes()
        await self._transport.connect()
        try:
            if self._dispatcher is not None:
                await self._transport.declare_queue(self._dispatcher.event_names)
            self.outbox.hand_off_to(self._relay)
            self._relay.start()
            if self._backlog is not None:
                self._backlog.start()
            if self._dispatcher is not None:
                await self._transport.consume(self._tracing.consumer(observe_dispatch(
                    self._dispatcher.dispatch, self._observer, self._dispatcher.event_names)))
                await self._transport.consume_dead_letters(
                    DeadLetterDrain(self._dead_letters, queue=self.topology.queue))
        except BaseException:
            self.outbox.hand_off_to(None)
            if self._backlog is not None:
                await self._backlog.stop()
            await self._relay.stop(flush_timeout=0)
            await self._transport.close()
            raise
        log.info("saga participant started",
                 extra={"service": self.service, "queue": self.topology.queue,
                        "events": self._dispatcher.event_names if self._dispatcher else []})
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self._transport.stop_consuming(self._grace)
            self.outbox.hand_off_to(None)
            if self._backlog is not None:
                await self._backlog.stop()
            await self._relay.stop()
        finally:
            await self._transport.close()
        log.info("saga participant stopped", extra={"service": self.service})
