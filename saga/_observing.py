"""Where the saga reports to its observer: around the dispatcher, the relay's publisher, and a
sampler of the outbox backlog. Wrapping keeps the reporting out of the code it measures.

The backlog is sampled here, every ``interval`` seconds, rather than read when metrics are
scraped: the scrape runs on the metrics server's thread while the MongoDB client belongs to
the event loop, a scrape would wait on the database, and every scraper (several Prometheus
replicas, a person with curl) would add queries. Sampling costs two small indexed reads per
interval, whoever scrapes; the figures are at most one interval old.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Collection, Sequence
from datetime import UTC

from saga._envelope import Delivery, Envelope
from saga._store import OutboxStore, utcnow
from saga._transport import Disposition, OnDelivery, Publisher, Verdict
from saga.observer import UNKNOWN_EVENT, Consumed, SagaObserver
from saga.retry import describe

log = logging.getLogger(__name__)

DEFAULT_BACKLOG_INTERVAL = 5.0


def observe_dispatch(dispatch: OnDelivery, observer: SagaObserver,
                     events: Collection[str]) -> OnDelivery:
    """``dispatch``, telling ``observer`` how each delivery ended; ``events``: the names this
    service subscribes to (any other is reported as :data:`~saga.observer.UNKNOWN_EVENT`)."""
    known = frozenset(events)

    async def observed(delivery: Delivery) -> Verdict:
        started = time.perf_counter()
        verdict = await dispatch(delivery)
        name = delivery.type or delivery.routing_key
        observer.consumed(name if name in known else UNKNOWN_EVENT, outcome_of(verdict),
                          time.perf_counter() - started, retries=max(verdict.attempts - 1, 0))
        return verdict

    return observed


def outcome_of(verdict: Verdict) -> Consumed:
    if verdict.disposition is Disposition.DEAD_LETTER:
        return Consumed.DEAD_LETTERED
    return Consumed.DUPLICATE if verdict.duplicate else Consumed.HANDLED


class ObservedPublisher:
    """A publisher that tells the observer about every confirmed event."""

    def __init__(self, publisher: Publisher, observer: SagaObserver) -> None:
        self._publisher = publisher
        self._observer = observer

    async def publish(self, envelopes: Sequence[Envelope]) -> list[BaseException | None]:
        started = time.perf_counter()
        results = await self._publisher.publish(envelopes)
        seconds = time.perf_counter() - started
        for envelope, result in zip(envelopes, results, strict=True):
            if result is None:
                self._observer.published(envelope.type, seconds)
        return results


class BacklogSampler:
    """Reports the outbox backlog every ``interval`` seconds until stopped."""

    def __init__(self, store: OutboxStore, observer: SagaObserver, *,
                 interval: float = DEFAULT_BACKLOG_INTERVAL) -> None:
        self._store = store
        self._observer = observer
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    async def sample_once(self) -> None:
        pending, oldest = await self._store.backlog()
        age = 0.0
        if oldest is not None:
            created = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)
            age = max((utcnow() - created).total_seconds(), 0.0)
        self._observer.outbox_backlog(pending, age)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="outbox-backlog-sampler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.sample_once()
            except Exception as exc:  # the database may be away a moment: the next sample
                log.warning("outbox backlog not sampled", extra={"error": describe(exc)})
            await asyncio.sleep(self._interval)
