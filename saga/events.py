"""The saga's event registry: every event the services exchange, by the name it travels under.

The name is the protobuf message name (``OrderPlaced``); it is the routing key and the AMQP
``type``, so a consumer can decode a body without guessing.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from google.protobuf.message import Message

from contracts.bookstore.events.v1 import events_pb2

EVENT_TYPES: dict[str, type[Message]] = {
    cls.DESCRIPTOR.name: cls
    for cls in (
        events_pb2.OrderPlaced,
        events_pb2.StockReserved,
        events_pb2.StockRejected,
        events_pb2.OrderConfirmed,
        events_pb2.OrderCancelled,
        events_pb2.BookAdded,
        events_pb2.BookChanged,
    )
}


def event_name(event: Message) -> str:
    """The name ``event`` travels under; raises ``KeyError`` for a message that is no event."""
    name = event.DESCRIPTOR.name
    if EVENT_TYPES.get(name) is not type(event):
        raise KeyError(f"{type(event).__qualname__} is not a registered saga event")
    return name


def new_meta(*, now: datetime | None = None) -> events_pb2.EventMeta:
    """A fresh id and timestamp: what every event starts with."""
    meta = events_pb2.EventMeta(event_id=uuid.uuid4().hex)
    meta.occurred_at.FromDatetime(now or datetime.now(UTC))
    return meta


def ensure_meta(event: Message) -> events_pb2.EventMeta:
    """Fill ``event.meta`` if the emitter left it empty, and return it."""
    meta: events_pb2.EventMeta = event.meta  # type: ignore[attr-defined]
    if not meta.event_id:
        meta.event_id = uuid.uuid4().hex
    if not meta.HasField("occurred_at"):
        meta.occurred_at.FromDatetime(datetime.now(UTC))
    return meta


def order_id_of(event: Message) -> str:
    """The order an event is about; empty for events about no order (the catalogue's)."""
    return str(getattr(event, "order_id", ""))
