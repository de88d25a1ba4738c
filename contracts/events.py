"""What every bookstore event has in common, next to their generated code.

Each event carries ``meta`` (``event_id``, ``occurred_at``) and belongs to one order, whose id
is its correlation id, or, for the catalogue's events, to one book. :data:`VALIDATORS` says
what a valid one looks like; both services hand it to their event registry, so a forged or
corrupted message is dead-lettered instead of handled.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Mapping
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


# The forms the services issue ids in: orders a UUID's (or, for an order placed with an
# idempotency key, a SHA-256 prefix's) 32 lowercase hex digits, inventory a MongoDB ObjectId's 24.
ORDER_ID = re.compile(r"[0-9a-f]{32}")
BOOK_ID = re.compile(r"[0-9a-f]{24}")


def _order_id_problem(order_id: str) -> str | None:
    if ORDER_ID.fullmatch(order_id):
        return None
    return f"order_id {order_id!r} is not 32 lowercase hex digits" if order_id else (
        "order_id is empty")


def _book_id_problem(book_id: str) -> str | None:
    if BOOK_ID.fullmatch(book_id):
        return None
    return f"book_id {book_id!r} is not 24 lowercase hex digits"


def _lines_problem(lines: Iterable[events_pb2.OrderLineItem]) -> str | None:
    items = list(lines)
    if not items:
        return "it has no lines"
    for line in items:
        if (problem := _book_id_problem(line.book_id)) is not None:
            return problem
        if line.quantity < 1:
            return f"book {line.book_id}: quantity {line.quantity} is below 1"
    return None


def order_problem(event: Any) -> str | None:
    """What is wrong with an order event that names only its order."""
    return _order_id_problem(event.order_id)


def order_lines_problem(event: events_pb2.OrderPlaced | events_pb2.StockReserved) -> str | None:
    """What is wrong with an event that asks for (or holds) order lines."""
    return _order_id_problem(event.order_id) or _lines_problem(event.lines)


def book_problem(event: events_pb2.BookAdded | events_pb2.BookChanged) -> str | None:
    """What is wrong with a catalogue event."""
    return _book_id_problem(event.book.book_id)


VALIDATORS: Mapping[type[Any], Callable[[Any], str | None]] = {
    events_pb2.OrderPlaced: order_lines_problem,
    events_pb2.StockReserved: order_lines_problem,
    events_pb2.StockRejected: order_problem,
    events_pb2.OrderConfirmed: order_problem,
    events_pb2.OrderCancelled: order_problem,
    events_pb2.BookAdded: book_problem,
    events_pb2.BookChanged: book_problem,
}
