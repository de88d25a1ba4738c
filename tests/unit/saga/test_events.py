"""The event registry and the metadata every event starts with."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import saga
from contracts.bookstore.events.v1 import events_pb2
from saga.events import EVENT_TYPES, ensure_meta, event_name, new_meta, order_id_of


def test_registry_holds_the_saga_and_catalogue_events_by_name() -> None:
    assert {
        "OrderPlaced": events_pb2.OrderPlaced,
        "StockReserved": events_pb2.StockReserved,
        "StockRejected": events_pb2.StockRejected,
        "OrderConfirmed": events_pb2.OrderConfirmed,
        "OrderCancelled": events_pb2.OrderCancelled,
        "BookAdded": events_pb2.BookAdded,
        "BookChanged": events_pb2.BookChanged,
    } == EVENT_TYPES


def test_catalogue_events_belong_to_no_order() -> None:
    assert order_id_of(events_pb2.BookAdded()) == ""
    assert order_id_of(events_pb2.OrderCancelled(order_id="o-1")) == "o-1"


def test_event_name_is_the_message_name() -> None:
    assert event_name(events_pb2.StockRejected(order_id="o")) == "StockRejected"


def test_event_name_refuses_messages_that_are_not_events() -> None:
    with pytest.raises(KeyError, match="not a registered saga event"):
        event_name(events_pb2.EventMeta())


def test_new_meta_has_a_fresh_hex_id_and_utc_time() -> None:
    now = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    first, second = new_meta(now=now), new_meta()
    assert len(first.event_id) == 32
    int(first.event_id, 16)
    assert first.event_id != second.event_id
    assert first.occurred_at.ToDatetime(tzinfo=UTC) == now


def test_ensure_meta_fills_only_what_is_missing() -> None:
    given = events_pb2.OrderConfirmed(meta=events_pb2.EventMeta(event_id="kept"))
    meta = ensure_meta(given)
    assert meta.event_id == "kept"
    assert meta.HasField("occurred_at")
    empty = events_pb2.OrderConfirmed()
    assert len(ensure_meta(empty).event_id) == 32


def test_public_names_are_pinned() -> None:
    assert sorted(saga.__all__) == [
        "Backoff", "EVENT_TYPES", "Handler", "Outbox", "OutboxState", "PoisonMessage",
        "PublishFailed", "SagaError", "SagaParticipant", "Subscriptions",
        "UndecodableMessage", "UnitOfWork", "event_name", "new_meta",
    ]
    for name in saga.__all__:
        assert getattr(saga, name) is not None
