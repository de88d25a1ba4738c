"""What every bookstore event has in common, next to their generated code.

Each event carries ``meta`` (``event_id``, ``occurred_at``) and belongs to one order, whose id
is its correlation id, or, for the catalogue's events, to one book.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from contracts.bookstore.events.v1 import events_pb2


def new_meta(*, now: datetime | None = None) -> events_pb2.EventMeta:
    """A fresh id and timestamp: what every event starts with."""
    meta = events_pb2.EventMeta(event_id=uuid.uuid4().hex)
    meta.occurred_at.FromDatetime(now or datetime.now(UTC))
    return meta


def order_id_of(event: Any) -> str:
    """The correlation id of a bookstore event: the order it is about."""
    return str(event.order_id)



def correlation_id_of(event: Any) -> str:
    """The correlation id of any bookstore event: its order's id, or for a catalogue event
    (``BookAdded``, ``BookChanged``) its book's id."""
    if isinstance(event, events_pb2.BookAdded | events_pb2.BookChanged):
        return str(event.book.book_id)
    return order_id_of(event)


def span_attributes_of(event: Any) -> dict[str, str]:
    """What the spans about a bookstore event carry: ``order.id``, or for a catalogue event
    ``book.id``; the dispatcher logs them as ``order_id``/``book_id``."""
    if isinstance(event, events_pb2.BookAdded | events_pb2.BookChanged):
        return {"book.id": str(event.book.book_id)}
    return {"order.id": order_id_of(event)}
