"""The events orders exchanges over the saga: what it emits and what it consumes."""

from __future__ import annotations

from contracts.bookstore.events.v1 import events_pb2 as ev
from contracts.events import VALIDATORS, correlation_id_of, span_attributes_of
from saga import EventRegistry

EVENTS = EventRegistry(
    [ev.OrderPlaced, ev.OrderConfirmed, ev.OrderCancelled,  # emitted
     ev.StockReserved, ev.StockRejected, ev.BookAdded, ev.BookChanged],  # consumed
    correlation_id=correlation_id_of, validators=VALIDATORS,
    span_attributes=span_attributes_of)
