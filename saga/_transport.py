"""The transport interface: what saga needs from a message broker, and nothing more.

Two implementations: :class:`saga.RabbitTransport` (the only module importing aio-pika) and
:class:`saga.InMemoryBroker`'s transports, for tests that need no broker. The dispatcher
answers every delivery with a :class:`Verdict`; the transport acts on it (ack, or publish to
the service's dead-letter queue and ack) and leaves a delivery unacked only when the
handling was cut off, so the broker delivers it again.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from saga._envelope import Delivery, Envelope


class Disposition(enum.Enum):
    """What the transport does with a message once dispatch is over."""

    ACK = "ack"  # handled now, or already handled before
    DEAD_LETTER = "dead_letter"  # publish to the service's dead-letter exchange, then ack


@dataclass(frozen=True, slots=True)
class Verdict:
    disposition: Disposition
    attempts: int
    error: str = ""
    duplicate: bool = False


OnDelivery = Callable[[Delivery], Awaitable[Verdict]]
OnDeadLetter = Callable[[Delivery], Awaitable[None]]


class Publisher(Protocol):
    async def publish(self, envelopes: Sequence[Envelope]) -> list[BaseException | None]:
        """Publish all at once; for each, ``None`` once the broker confirmed it, else why not."""


class Transport(Publisher, Protocol):
    """One service's connection to the broker: publishing and consuming its own queue."""

    async def connect(self) -> None:
        """Connect (robustly, where the broker allows) and declare the events exchange."""

    async def declare_queue(self, event_names: Sequence[str]) -> None:
        """The service's queue bound to ``event_names``, with its dead-letter queue."""

    async def consume(self, on_delivery: OnDelivery) -> None:
        """Feed every delivery of the queue to ``on_delivery``, acting on its verdict:
        ack, or dead-letter (with ``x-error``, ``x-attempts``, ``x-original-routing-key``)
        then ack."""

    async def consume_dead_letters(self, on_dead_letter: OnDeadLetter) -> None:
        """Feed every message of the service's dead-letter queue to ``on_dead_letter``, and
        ack it once that returns (it keeps the message somewhere a person can act on it)."""

    async def redeliver(self, envelopes: Sequence[Envelope]) -> list[BaseException | None]:
        """Publish straight to the service's own queue (not the events exchange, so no other
        subscriber sees them again), with confirms; per envelope ``None`` or the failure."""

    async def stop_consuming(self, grace: float) -> None:
        """Take no new deliveries; give those being handled ``grace`` seconds to finish."""

    async def close(self) -> None:
        """Drop the connection; unacked deliveries go back to the queue."""
