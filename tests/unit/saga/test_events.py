"""The event registry a service hands saga, and the library's public names."""

from __future__ import annotations

import pathlib
from datetime import UTC, datetime

import pytest

import saga
from contracts.bookstore.events.v1 import events_pb2
from contracts.events import new_meta
from inventory.events import EVENTS as INVENTORY_EVENTS
from orders.events import EVENTS as ORDER_EVENTS
from saga import EventRegistry

REGISTRY = EventRegistry([events_pb2.StockRejected, events_pb2.OrderConfirmed],
                         correlation_id=lambda e: e.order_id)


def test_services_register_the_saga_and_catalogue_events_by_name() -> None:
    expected = ["BookAdded", "BookChanged", "OrderCancelled", "OrderConfirmed", "OrderPlaced",
                "StockRejected", "StockReserved"]
    assert INVENTORY_EVENTS.names == ORDER_EVENTS.names == expected
    assert ORDER_EVENTS.type_of("StockReserved") is events_pb2.StockReserved


def test_an_order_event_correlates_by_order_and_a_catalogue_event_by_book() -> None:
    entry = events_pb2.CatalogueEntry(book_id="b-1")
    assert ORDER_EVENTS.correlation_id(events_pb2.OrderCancelled(order_id="o-1")) == "o-1"
    assert ORDER_EVENTS.correlation_id(events_pb2.BookAdded(book=entry)) == "b-1"
    assert INVENTORY_EVENTS.correlation_id(events_pb2.BookChanged(book=entry)) == "b-1"


def test_event_name_is_the_message_name() -> None:
    assert REGISTRY.name_of(events_pb2.StockRejected(order_id="o")) == "StockRejected"


def test_messages_not_registered_are_refused() -> None:
    with pytest.raises(KeyError, match="not a registered event"):
        REGISTRY.name_of(events_pb2.EventMeta())
    with pytest.raises(KeyError, match="not a registered event"):
        REGISTRY.name_of(events_pb2.OrderPlaced())


def test_an_open_registry_takes_any_event() -> None:
    assert EventRegistry.any_event().name_of(events_pb2.OrderPlaced()) == "OrderPlaced"


def test_correlation_id_is_what_the_service_says() -> None:
    assert REGISTRY.correlation_id(events_pb2.StockRejected(order_id="o-7")) == "o-7"
    assert EventRegistry.any_event().correlation_id(events_pb2.StockRejected(order_id="x")) == ""


def test_new_meta_has_a_fresh_hex_id_and_utc_time() -> None:
    now = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    first, second = new_meta(now=now), new_meta()
    assert len(first.event_id) == 32
    int(first.event_id, 16)
    assert first.event_id != second.event_id
    assert first.occurred_at.ToDatetime(tzinfo=UTC) == now


def test_stamp_fills_only_what_is_missing() -> None:
    given = events_pb2.OrderConfirmed(meta=events_pb2.EventMeta(event_id="kept"))
    event_id, occurred = REGISTRY.stamp(given)
    assert event_id == "kept"
    assert given.meta.HasField("occurred_at")
    assert occurred.tzinfo is UTC
    empty = events_pb2.OrderConfirmed()
    assert len(REGISTRY.stamp(empty)[0]) == 32
    assert REGISTRY.event_id(empty) == empty.meta.event_id


def test_public_names_are_pinned() -> None:
    assert sorted(saga.__all__) == [
        "Backoff", "Consumed", "DeadLetter", "DeadLetterRecord", "Delivery", "Disposition",
        "Envelope", "EventMeta", "EventRegistry", "FailedEvent", "Handler", "InMemoryBroker",
        "InMemoryTransport", "InvalidEvent", "NO_OBSERVER", "NoObserver", "Outbox",
        "OutboxState", "OutboxStore", "PROCESSED", "PoisonMessage", "PublishFailed", "Publisher",
        "RabbitTransport", "Relay", "SagaError", "SagaObserver", "SagaOperations",
        "SagaParticipant",
        "Subscription", "Subscriptions", "Topology", "Transport", "UndecodableMessage",
        "UnitOfWork", "Verdict", "in_transaction",
    ]
    for name in saga.__all__:
        assert getattr(saga, name) is not None


def test_saga_knows_no_service() -> None:
    source = "\n".join(p.read_text() for p in pathlib.Path(saga.__file__).parent.glob("*.py"))
    for name in ("contracts", "inventory", "orders", "bookstore", "runtime"):
        assert f"import {name}" not in source
        assert f"from {name}" not in source
