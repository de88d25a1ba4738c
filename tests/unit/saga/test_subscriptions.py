"""The subscription table: one reaction per event type, decoded as the type it names."""

from __future__ import annotations

import pytest

from contracts.bookstore.events.v1 import events_pb2 as ev
from saga import Subscriptions, UnitOfWork


async def placed(event: ev.OrderPlaced, uow: UnitOfWork) -> None:
    return None


async def charge(event: ev.StockReserved) -> str:
    return "paid"


async def settle(event: ev.StockReserved, paid: str, uow: UnitOfWork) -> None:
    return None


def test_the_table_names_its_types_and_phases() -> None:
    table = Subscriptions().on(ev.OrderPlaced, placed).on(ev.StockReserved, settle,
                                                         outside=charge)
    assert table.names == ["OrderPlaced", "StockReserved"]
    assert table.types == {"OrderPlaced": ev.OrderPlaced, "StockReserved": ev.StockReserved}
    reserved = table.get("StockReserved")
    assert reserved is not None
    assert reserved.outside is charge
    assert reserved.settle is settle
    only_inside = table.get("OrderPlaced")
    assert only_inside is not None
    assert only_inside.outside is None
    assert table.get("OrderCancelled") is None


def test_an_event_type_takes_one_reaction() -> None:
    table = Subscriptions().on(ev.OrderPlaced, placed)
    with pytest.raises(ValueError, match="OrderPlaced already has a handler"):
        table.on(ev.OrderPlaced, placed)


def test_a_plain_table_still_works() -> None:
    table = Subscriptions.of({ev.OrderPlaced: placed})
    assert table.names == ["OrderPlaced"]
    assert not Subscriptions.of(None)
    assert Subscriptions.of(table) is table
