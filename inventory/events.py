"""The events inventory exchanges over the saga: what it consumes and what it emits."""

from __future__ import annotations

from contracts.bookstore.events.v1 import events_pb2 as ev
from contracts.events import VALIDATORS, correlation_id_of, span_attributes_of
from saga import EventRegistry

EVENTS = EventRegistry(
    [ev.OrderPlaced, ev.OrderConfirmed, ev.OrderCancelled,  # consumed
     ev.StockReserved, ev.StockRejected, ev.BookAdded, ev.BookChanged],  # emitted
    correlation_id=correlation_id_of, validators=VALIDATORS,
    span_attributes=span_attributes_of)
