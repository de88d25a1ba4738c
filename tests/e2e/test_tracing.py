"""Distributed tracing across the real processes: one order is one trace, broker included.

The services export over OTLP/gRPC to a receiver this module runs (:mod:`tests.otlp_receiver`),
configured only through the standard ``OTEL_*`` variables, as an operator would.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contracts.bookstore.orders.v1 import orders_pb2 as pb
from contracts.bookstore.user.v1 import user_pb2 as users
from tests.e2e.shop import S, open_shop
from tests.otlp_receiver import OtlpReceiver, ReceivedSpan
from tests.stack import ADMIN_EMAIL, ADMIN_PASSWORD, Stack, running_stack

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

ORDERS = "/bookstore.orders.v1.OrderService"
# From inventory's sale back to the call that placed the order, parent by parent.
CHAIN = [
    ("inventory", "InventoryHandlers.on_order_confirmed", "INTERNAL"),  # held → sold
    ("inventory", "process OrderConfirmed", "CONSUMER"),
    ("orders", "publish OrderConfirmed", "PRODUCER"),
    ("orders", "OrderHandlers.settle", "INTERNAL"),  # settlement
    ("orders", "process StockReserved", "CONSUMER"),
    ("inventory", "publish StockReserved", "PRODUCER"),
    ("inventory", "InventoryHandlers.on_order_placed", "INTERNAL"),  # reservation
    ("inventory", "process OrderPlaced", "CONSUMER"),
    ("orders", "publish OrderPlaced", "PRODUCER"),
    ("orders", f"{ORDERS}/PlaceOrder", "SERVER"),
]


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as running:
        yield running


@pytest.fixture(scope="module")
def traced(mongo_url: str, amqp_url: str, receiver: OtlpReceiver,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The three services exporting every span to ``receiver``, logging JSON."""
    with running_stack(mongo_url, amqp_url, tmp_path_factory.mktemp("traced"),
                       BOOKSTORE_LOG_FORMAT="json",
                       **receiver.environment()) as stack:  # type: ignore[arg-type]
        yield stack


def of_order(spans: list[ReceivedSpan], order_id: str, name: str) -> list[ReceivedSpan]:
    return [s for s in spans if s.name == name and s.attributes.get("order.id") == order_id]


def chain_from(spans: list[ReceivedSpan], start: ReceivedSpan) -> list[ReceivedSpan]:
    """``start`` and its ancestors, as far as they have arrived."""
    by_id = {s.span_id: s for s in spans if s.trace_id == start.trace_id}
    chain = [start]
    while chain[-1].parent_id and chain[-1].parent_id in by_id:
        chain.append(by_id[chain[-1].parent_id])
    return chain


def complete(spans: list[ReceivedSpan], order_id: str) -> bool:
    """The sale's chain reaches its root, and the watch has ended."""
    sales = of_order(spans, order_id, CHAIN[0][1])
    return (bool(sales) and not chain_from(spans, sales[0])[-1].parent_id
            and bool(of_order(spans, order_id, f"{ORDERS}/WatchOrder")))


def json_lines(path: Path) -> list[dict[str, Any]]:
    lines = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


async def place_and_confirm(stack: Stack) -> str:
    async with open_shop(stack) as shop:
        _, me = await shop.customer("Traced")
        book = await shop.add_book("Traced Tales", 1250, stock=3)
        order = await shop.place(me, [(book, 1)])
        async with asyncio.timeout(60):
            async for reply in shop.orders.WatchOrder(pb.OrderIDRequest(order_id=order.id),
                                                      metadata=me):
                if reply.order.status == S.ORDER_STATUS_CONFIRMED:
                    break
        await shop.quiet_stock(book)  # sold: inventory has handled OrderConfirmed
        return order.id


async def test_an_order_is_one_trace_from_placement_to_sale(
        traced: Stack, receiver: OtlpReceiver) -> None:
    order_id = await place_and_confirm(traced)
    spans = await asyncio.to_thread(receiver.wait_for, lambda s: complete(s, order_id),
                                    within=60)

    sale = of_order(spans, order_id, CHAIN[0][1])[0]  # a retried handler runs again: same chain
    chain = chain_from(spans, sale)
    assert [(s.service, s.name, s.kind) for s in chain] == CHAIN
    place = chain[-1]
    assert not place.parent_id  # the call itself started the trace
    trace = [s for s in spans if s.trace_id == place.trace_id]
    assert {s.service for s in trace} == {"orders", "inventory"}
    assert all(s.attributes.get("order.id") == order_id for s in chain)

    # The payment runs outside the settlement's transaction, under the same delivery.
    charge = of_order(trace, order_id, "payment charge")[0]
    by_id = {s.span_id: s for s in trace}
    assert by_id[charge.parent_id].name == "OrderHandlers.charge"
    assert by_id[by_id[charge.parent_id].parent_id].name == "process StockReserved"
    assert charge.attributes["payment.approved"] is True
    # MongoDB commands are spans of the handler that ran them.
    reservation = next(s for s in chain if s.name == "InventoryHandlers.on_order_placed")
    assert any(s.parent_id == reservation.span_id and s.kind == "CLIENT"
               and any(key.startswith("db.") for key in s.attributes) for s in trace)
    publish = next(s for s in chain if s.name == "publish OrderPlaced")
    assert publish.attributes["messaging.system"] == "rabbitmq"
    assert publish.attributes["messaging.destination.name"].endswith(".events")

    # WatchOrder is a call of its own, linked to the order's trace.
    (watch,) = of_order(spans, order_id, f"{ORDERS}/WatchOrder")
    assert watch.trace_id != place.trace_id
    assert (place.trace_id, place.span_id) in watch.links
    # The change stream shared by every watch belongs to none of them.
    assert not [s.name for s in spans if s.trace_id == watch.trace_id
                and s.name.endswith((".aggregate", ".getMore"))]

    # Log lines written inside the saga's spans carry the trace and the order.
    for service in ("orders", "inventory"):
        handled = [line for line in json_lines(traced.log_path(service))
                   if line.get("message") == "event handled"
                   and line.get("order_id") == order_id]
        assert handled, f"{service} logged no handled event of {order_id}"
        assert {line.get("trace_id") for line in handled} == {place.trace_id}
        assert all(line.get("span_id") in by_id for line in handled)


async def test_calls_from_orders_to_inventory_continue_the_callers_trace(
        traced: Stack, receiver: OtlpReceiver) -> None:
    # Orders fills its catalogue read model from inventory's listing when it first starts.
    listing = "/bookstore.inventory.v1.InventoryService/ListBooks"

    def answered(spans: list[ReceivedSpan]) -> bool:
        calls = {s.span_id for s in spans
                 if (s.service, s.name, s.kind) == ("orders", listing, "CLIENT")}
        return any((s.service, s.name, s.kind) == ("inventory", listing, "SERVER")
                   and s.parent_id in calls for s in spans)

    assert await asyncio.to_thread(receiver.wait_for, answered, within=60)


async def test_the_console_exporter_prints_spans(traced: Stack) -> None:
    log = traced.log_path("user")
    traced.stop("user")
    before = log.stat().st_size
    traced.start("user", OTEL_TRACES_EXPORTER="console")
    try:
        async with open_shop(traced) as shop:
            await shop.users.AuthenticateUser(
                users.UserAuthRequest(email=ADMIN_EMAIL, password=ADMIN_PASSWORD), timeout=10)
    finally:
        assert traced.stop("user") == 0  # the batch is printed at the latest when it stops
        traced.start("user")
    printed = log.read_text(errors="replace")[before:]
    assert '"name": "/bookstore.user.v1.UserService/AuthenticateUser"' in printed
    assert '"service.name": "user"' in printed
