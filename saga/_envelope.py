"""How an event looks on the wire, apart from any broker library.

Outgoing: an outbox record becomes an :class:`Envelope` (body plus AMQP properties). Incoming:
the transport hands over a :class:`Delivery`, which :func:`decode` turns back into an event.
Trace context rides in headers: an outbox record's stored ``trace`` (see :mod:`saga.tracing`)
goes into the envelope's headers, where the relay's publish span replaces it with its own. The
events a handler emits name the message being handled as their cause.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from google.protobuf.message import DecodeError, Message

from saga.errors import UndecodableMessage

CONTENT_TYPE = "application/x-protobuf"
CORRELATION_HEADER = "x-correlation-id"
CAUSATION_HEADER = "x-causation-id"
TRACE_HEADERS = ("traceparent", "tracestate")

_trace: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "saga_trace", default=None)


@dataclass(frozen=True, slots=True)
class Envelope:
    """One event ready to publish: routing key, body and AMQP properties."""

    routing_key: str
    body: bytes
    message_id: str
    correlation_id: str
    timestamp: datetime
    app_id: str
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = CONTENT_TYPE

    @property
    def type(self) -> str:
        return self.routing_key


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message as received, whatever the transport."""

    body: bytes
    routing_key: str
    message_id: str | None = None
    type: str | None = None
    correlation_id: str | None = None
    headers: Mapping[str, Any] = field(default_factory=dict)
    redelivered: bool = False
    # What the publisher said the body is; anything but :data:`CONTENT_TYPE` is refused.
    # The default serves deliveries built in code; a broker message without one has "".
    content_type: str = CONTENT_TYPE


def envelope_from_record(record: Mapping[str, Any], app_id: str) -> Envelope:
    """The envelope for a stored outbox document."""
    # Records stored before correlation ids were generic name it ``order_id``.
    correlation = str(record.get("correlation_id", record.get("order_id", "")))
    created: datetime = record["created_at"]
    headers = {CORRELATION_HEADER: correlation, **record.get("headers", {}),
               **record.get("trace", {})}
    return Envelope(
        routing_key=str(record["name"]),
        body=bytes(record["payload"]),
        message_id=str(record["_id"]),
        correlation_id=correlation,
        timestamp=created if created.tzinfo else created.replace(tzinfo=UTC),
        app_id=app_id,
        headers=headers,
    )


def decode(delivery: Delivery, types: Mapping[str, type[Message]]) -> tuple[str, Message]:
    """The event name and message in ``delivery``, decoded as the type ``types`` names for
    it (the subscriptions' types); raises :class:`UndecodableMessage`."""
    if not delivery.message_id:
        raise UndecodableMessage("message has no message_id, so it cannot be deduplicated")
    if delivery.content_type != CONTENT_TYPE:
        raise UndecodableMessage(
            f"content type {delivery.content_type or '(none)'!r} is not {CONTENT_TYPE!r}")
    name = delivery.type or delivery.routing_key
    event_type = types.get(name)
    if event_type is None:
        raise UndecodableMessage(f"unknown event type {name!r}")
    event = event_type()
    try:
        event.ParseFromString(delivery.body)
    except DecodeError as exc:
        raise UndecodableMessage(f"body is not a valid {name}: {exc}") from exc
    return name, event


def propagated_headers(delivery: Delivery) -> dict[str, str]:
    """Headers the events emitted while handling ``delivery`` carry forward: their cause.
    (Their trace context is the handler's span, stored with each as ``trace``.)"""
    headers: dict[str, str] = {}
    if delivery.message_id:
        headers[CAUSATION_HEADER] = delivery.message_id
    return headers


@contextlib.contextmanager
def trace_context(headers: Mapping[str, str]) -> Iterator[None]:
    """Events stored inside this block carry ``headers`` (e.g. the causation id)."""
    token = _trace.set(dict(headers))
    try:
        yield
    finally:
        _trace.reset(token)


def current_trace() -> Mapping[str, str]:
    return _trace.get() or {}


@dataclass(frozen=True, slots=True)
class Topology:
    """Exchange and queue names for one service; ``prefix`` keeps environments (and tests) apart."""

    prefix: str
    service: str

    @property
    def exchange(self) -> str:
        return f"{self.prefix}.events"

    @property
    def queue(self) -> str:
        return f"{self.prefix}.{self.service}"

    @property
    def dead_exchange(self) -> str:
        return f"{self.prefix}.{self.service}.dead"

    @property
    def dead_queue(self) -> str:
        return f"{self.prefix}.{self.service}.dead"
