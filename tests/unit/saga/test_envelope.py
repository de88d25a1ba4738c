"""Building outgoing envelopes from outbox documents and decoding incoming deliveries."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contracts.bookstore.events.v1 import events_pb2
from saga._envelope import (
    CONTENT_TYPE,
    Delivery,
    Topology,
    current_trace,
    decode,
    envelope_from_record,
    propagated_headers,
    trace_context,
)
from saga._store import outbox_record
from saga.errors import PoisonMessage, UndecodableMessage
from tests.integration.saga.helpers import EVENTS

TYPES = {"OrderPlaced": events_pb2.OrderPlaced}


def placed() -> events_pb2.OrderPlaced:
    event = events_pb2.OrderPlaced(order_id="o-1", user_id="u-1")
    event.meta.event_id = "e-1"
    event.meta.occurred_at.FromDatetime(datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC))
    return event


def test_outbox_record_to_envelope_carries_every_property() -> None:
    event = placed()
    record = outbox_record(event, EVENTS, {"x-causation-id": "e-0"},
                           trace={"traceparent": "00-abc-def-01"})
    assert record["state"] == "pending"
    assert record["attempts"] == 0
    envelope = envelope_from_record(record, app_id="orders")
    assert envelope.routing_key == envelope.type == "OrderPlaced"
    assert envelope.message_id == "e-1"
    assert envelope.correlation_id == "o-1"
    assert envelope.app_id == "orders"
    assert envelope.content_type == CONTENT_TYPE
    assert envelope.timestamp == datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert envelope.headers == {"x-correlation-id": "o-1", "x-causation-id": "e-0",
                                "traceparent": "00-abc-def-01"}
    assert events_pb2.OrderPlaced.FromString(envelope.body) == event


def test_naive_timestamps_from_the_database_are_read_as_utc() -> None:
    record = outbox_record(placed(), EVENTS, {})
    record["created_at"] = record["created_at"].replace(tzinfo=None)
    assert envelope_from_record(record, "orders").timestamp.tzinfo is UTC


def test_decode_round_trips_an_event() -> None:
    event = placed()
    delivery = Delivery(body=event.SerializeToString(), routing_key="OrderPlaced",
                        message_id="e-1", type="OrderPlaced")
    assert decode(delivery, TYPES) == ("OrderPlaced", event)


def test_decode_falls_back_to_the_routing_key_without_a_type() -> None:
    delivery = Delivery(body=placed().SerializeToString(), routing_key="OrderPlaced",
                        message_id="e-1")
    assert decode(delivery, TYPES)[0] == "OrderPlaced"


@pytest.mark.parametrize(
    ("delivery", "reason"),
    [
        (Delivery(body=b"", routing_key="OrderPlaced", type="OrderPlaced"), "message_id"),
        (Delivery(body=b"", routing_key="X", message_id="m", type="OrderShipped"),
         "unknown event type"),
        (Delivery(body=b"", routing_key="X", message_id="m", type="StockReserved"),
         "unknown event type"),  # a real event, but not one subscribed to here
        (Delivery(body=b"\xff\xfe", routing_key="OrderPlaced", message_id="m",
                  type="OrderPlaced"), "not a valid OrderPlaced"),
    ],
)
def test_undecodable_deliveries_are_poison(delivery: Delivery, reason: str) -> None:
    with pytest.raises(UndecodableMessage, match=reason) as caught:
        decode(delivery, TYPES)
    assert isinstance(caught.value, PoisonMessage)


def test_handling_a_delivery_names_it_as_the_cause() -> None:
    # The trace context is not copied: emitted events store the handler span's own.
    delivery = Delivery(body=b"", routing_key="OrderPlaced", message_id="cause-1",
                        headers={"traceparent": "00-t-s-01", "x-other": "dropped"})
    headers = propagated_headers(delivery)
    assert headers == {"x-causation-id": "cause-1"}
    assert current_trace() == {}
    with trace_context(headers):
        assert current_trace() == headers
    assert current_trace() == {}


def test_topology_names() -> None:
    t = Topology("bookstore", "inventory")
    assert (t.exchange, t.queue, t.dead_exchange, t.dead_queue) == (
        "bookstore.events", "bookstore.inventory", "bookstore.inventory.dead",
        "bookstore.inventory.dead")
