"""What a valid bookstore event looks like: ids in the forms the services issue them, lines
with something in them. The saga dead-letters whatever these validators refuse."""

from __future__ import annotations

import pytest
from bson import ObjectId

from contracts.bookstore.events.v1 import events_pb2 as ev
from contracts.events import VALIDATORS
from orders.events import EVENTS as ORDERS_EVENTS
from orders.model import keyed_order_id, new_order_id
from saga import EventRegistry

BOOK = str(ObjectId())
ORDER = new_order_id()


def problem(event: object) -> str | None:
    return VALIDATORS[type(event)](event)


def line(book_id: str = BOOK, quantity: int = 1) -> ev.OrderLineItem:
    return ev.OrderLineItem(book_id=book_id, quantity=quantity)


@pytest.mark.parametrize("order_id", [new_order_id(), keyed_order_id("u1", "key-1")])
def test_the_ids_the_services_issue_are_valid(order_id: str) -> None:
    assert problem(ev.OrderPlaced(order_id=order_id, lines=[line(), line(str(ObjectId()), 3)])
                   ) is None
    assert problem(ev.StockReserved(order_id=order_id, lines=[line()])) is None
    assert problem(ev.StockRejected(order_id=order_id)) is None
    assert problem(ev.OrderConfirmed(order_id=order_id)) is None
    assert problem(ev.OrderCancelled(order_id=order_id)) is None
    assert problem(ev.BookAdded(book=ev.CatalogueEntry(book_id=BOOK))) is None
    assert problem(ev.BookChanged(book=ev.CatalogueEntry(book_id=BOOK))) is None


@pytest.mark.parametrize(("event", "reason"), [
    (ev.OrderPlaced(lines=[line()]), "order_id is empty"),
    (ev.OrderPlaced(order_id=ORDER.upper(), lines=[line()]), "is not 32 lowercase hex"),
    (ev.OrderPlaced(order_id=ORDER + "0", lines=[line()]), "is not 32 lowercase hex"),
    (ev.OrderPlaced(order_id=ORDER), "it has no lines"),
    (ev.OrderPlaced(order_id=ORDER, lines=[line(quantity=0)]), "quantity 0 is below 1"),
    (ev.OrderPlaced(order_id=ORDER, lines=[line(quantity=-5)]), "quantity -5 is below 1"),
    (ev.OrderPlaced(order_id=ORDER, lines=[line("9780306406157")]), "is not 24 lowercase hex"),
    (ev.OrderPlaced(order_id=ORDER, lines=[line(), line("")]), "book_id '' is not 24"),
    (ev.StockReserved(order_id=ORDER), "it has no lines"),
    (ev.StockRejected(order_id="o-1"), "order_id 'o-1' is not 32"),
    (ev.OrderConfirmed(), "order_id is empty"),
    (ev.OrderCancelled(order_id=" " + ORDER[1:]), "is not 32 lowercase hex"),
    (ev.BookAdded(), "book_id '' is not 24"),
    (ev.BookChanged(book=ev.CatalogueEntry(book_id="b-1")), "book_id 'b-1' is not 24"),
])
def test_malformed_events_are_refused_with_the_reason(event: object, reason: str) -> None:
    found = problem(event)
    assert found is not None
    assert reason in found


def test_the_services_registries_validate_every_event_they_know() -> None:
    assert ORDERS_EVENTS.problem(ev.OrderConfirmed()) == "order_id is empty"
    assert {t.DESCRIPTOR.name for t in VALIDATORS} == set(ORDERS_EVENTS.names)


def test_a_registry_refuses_validators_for_events_it_does_not_list() -> None:
    with pytest.raises(ValueError, match="validators for unregistered events: BookAdded"):
        EventRegistry([ev.OrderPlaced], validators={ev.BookAdded: lambda event: None})
    assert EventRegistry([ev.OrderPlaced]).problem(ev.OrderPlaced()) is None
