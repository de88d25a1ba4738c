"""The saga's observer for a service process: what saga/ reports, as Prometheus metrics.

saga/ knows no metrics system (:mod:`saga.observer`); this adapter writes what it hears into
the catalogue of :mod:`runtime.metrics`. Both services with a saga participant pass one in.
"""

from __future__ import annotations

from collections.abc import Iterable

from runtime.metrics import (
    BROKER_CONNECTED,
    EVENT_HANDLER_SECONDS,
    EVENT_PUBLISH_SECONDS,
    EVENTS_CONSUMED,
    EVENTS_PUBLISHED,
    OUTBOX_OLDEST_AGE,
    OUTBOX_PENDING,
)
from saga import Consumed


class SagaMetrics:
    """:class:`saga.SagaObserver` recording into the process's Prometheus registry.

    Every outcome of every event in ``consumes`` starts at 0, so ``rate()`` sees the first
    one and a query for dead letters finds a series rather than nothing.
    """

    def __init__(self, consumes: Iterable[str] = ()) -> None:
        for event in consumes:
            for outcome in Consumed:
                EVENTS_CONSUMED.labels(event, outcome.value)

    def consumed(self, event: str, outcome: Consumed, seconds: float, *, retries: int) -> None:
        EVENTS_CONSUMED.labels(event, outcome.value).inc()
        if retries:
            EVENTS_CONSUMED.labels(event, Consumed.RETRIED.value).inc(retries)
        if outcome is Consumed.HANDLED:
            EVENT_HANDLER_SECONDS.labels(event).observe(seconds)

    def published(self, event: str, seconds: float) -> None:
        EVENTS_PUBLISHED.labels(event).inc()
        EVENT_PUBLISH_SECONDS.observe(seconds)

    def outbox_backlog(self, pending: int, oldest_age_seconds: float) -> None:
        OUTBOX_PENDING.set(pending)
        OUTBOX_OLDEST_AGE.set(oldest_age_seconds)

    def broker_connected(self, connected: bool) -> None:
        BROKER_CONNECTED.set(1 if connected else 0)
