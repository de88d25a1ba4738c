"""What the saga tells an observer (a service's metrics) as it works: a seam, not a dependency.

The library knows no metrics system: a service passes a :class:`SagaObserver` to its
:class:`~saga.SagaParticipant` and records what it hears however it likes (the services
write Prometheus metrics, :mod:`runtime.saga_metrics`). Without one, :data:`NO_OBSERVER`
hears everything and does nothing. Every method is called on the event loop, must be quick,
and must not raise: it runs beside the work it describes.

- :meth:`~SagaObserver.consumed`: once per delivery, with its final :class:`Consumed`
  outcome, how many failed attempts were tried again before it, and the seconds from the
  delivery's arrival to its verdict (retries and their backoff included).
- :meth:`~SagaObserver.published`: once per outbox event the broker confirmed, with the
  seconds its batch took from publishing to the last confirm.
- :meth:`~SagaObserver.outbox_backlog`: every few seconds, the events stored but not yet
  published (pending or in progress) and the age of the oldest of them.
- :meth:`~SagaObserver.broker_connected`: on connecting, losing the connection and
  reconnecting (RabbitMQ only).
"""

from __future__ import annotations

import enum
from typing import Final, Protocol

UNKNOWN_EVENT: Final = "unknown"
"""The event name reported for a delivery of a type this service does not subscribe to, so
a sender cannot invent label values."""


class Consumed(enum.StrEnum):
    """How handling a delivery ended."""

    HANDLED = "handled"  # the handler's transaction committed
    DUPLICATE = "duplicate"  # the event id had been handled already: acked, nothing ran
    DEAD_LETTERED = "dead_lettered"  # undecodable, poison, or every attempt failed
    RETRIED = "retried"  # not a final outcome: a failed attempt that was tried again


class SagaObserver(Protocol):
    def consumed(self, event: str, outcome: Consumed, seconds: float, *, retries: int) -> None:
        """A delivery of ``event`` ended with ``outcome`` after ``retries`` retried attempts."""

    def published(self, event: str, seconds: float) -> None:
        """The broker confirmed one ``event`` from the outbox."""

    def outbox_backlog(self, pending: int, oldest_age_seconds: float) -> None:
        """Events not yet published, and the oldest one's age (0 when there is none)."""

    def broker_connected(self, connected: bool) -> None:
        """The connection to the broker opened (again) or was lost."""


class NoObserver:
    """Hears everything, records nothing: the default."""

    def consumed(self, event: str, outcome: Consumed, seconds: float, *, retries: int) -> None:
        pass

    def published(self, event: str, seconds: float) -> None:
        pass

    def outbox_backlog(self, pending: int, oldest_age_seconds: float) -> None:
        pass

    def broker_connected(self, connected: bool) -> None:
        pass


NO_OBSERVER: Final = NoObserver()
