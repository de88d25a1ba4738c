"""Messages the saga did not ask for, against the real stack: a forged OrderPlaced for an
order orders never placed holds nothing for long, and a replay of every event of a confirmed
order changes and says nothing."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aio_pika
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from contracts.bookstore.events.v1 import events_pb2 as ev
from contracts.events import new_meta
from runtime.mongo import make_client
from tests.e2e.shop import S, open_shop
from tests.stack import Stack
from tests.waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

WAIT = 30.0
PROTOBUF = "application/x-protobuf"
# A line of the text log format: "<date> <time> LEVEL service logger: message".
LOG_LINE = re.compile(r"^\S+ \S+ (?P<level>[A-Z]+)\s+\S+ (?P<logger>[\w.]+): (?P<message>.*)$")


@asynccontextmanager
async def databases(stack: Stack) -> AsyncIterator[dict[str, AsyncDatabase[Any]]]:
    client = make_client(stack.env["BOOKSTORE_MONGO_URL"])
    try:
        yield {svc: client[stack.env[f"BOOKSTORE_{svc.upper()}_MONGO_DB"]]
               for svc in ("inventory", "orders")}
    finally:
        await client.close()


@asynccontextmanager
async def exchange_of(stack: Stack) -> AsyncIterator[aio_pika.abc.AbstractExchange]:
    connection = await aio_pika.connect(stack.env["BOOKSTORE_AMQP_URL"], timeout=10)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        yield await channel.get_exchange(f"{stack.env['BOOKSTORE_SAGA_PREFIX']}.events")


def log_lines(stack: Stack, service: str, start: int = 0) -> list[re.Match[str]]:
    """The parsed log lines of ``service`` from byte ``start`` on."""
    with stack.log_path(service).open("rb") as log:
        log.seek(start)
        text = log.read().decode(errors="replace")
    return [m for line in text.splitlines() if (m := LOG_LINE.match(line))]


async def test_a_forged_order_placed_holds_nothing_once_orders_answers(stack: Stack) -> None:
    async with open_shop(stack) as shop, databases(stack) as db:
        book = await shop.add_book("Forged", 1000, stock=5)
        forged = uuid.uuid4().hex  # no such order in orders
        mark = stack.log_path("orders").stat().st_size
        event = ev.OrderPlaced(meta=new_meta(), order_id=forged, user_id="intruder",
                               lines=[ev.OrderLineItem(book_id=book, quantity=2)])
        async with exchange_of(stack) as exchange:
            await exchange.publish(aio_pika.Message(
                event.SerializeToString(), message_id=event.meta.event_id, type="OrderPlaced",
                correlation_id=forged, content_type=PROTOBUF), routing_key="OrderPlaced")

        async def released() -> bool:
            found = await db["inventory"]["reservations"].find_one({"_id": forged})
            return found is not None and found["state"] == "released"

        await eventually(released, WAIT)  # held, answered by orders with OrderCancelled, released
        after = await shop.quiet_stock(book)
        assert (after.available, after.reserved, after.sold) == (5, 0, 0)
        assert await shop.invariant_violations() == []
        assert await db["orders"]["orders"].find_one({"_id": forged}) is None
    answered = [m for m in log_lines(stack, "orders", mark)
                if m["message"] == "reservation for an unknown order released"]
    assert [m["level"] for m in answered] == ["WARNING"]


async def test_replaying_every_event_of_a_confirmed_order_is_silent(stack: Stack) -> None:
    async with open_shop(stack) as shop, databases(stack) as db:
        _, me = await shop.customer()
        book = await shop.add_book("Replayed", 1500, stock=4)
        order = await shop.place(me, [(book, 3)])
        settled = (await shop.settle([order.id], within=WAIT))[order.id]
        assert settled.status == S.ORDER_STATUS_CONFIRMED
        before = await shop.quiet_stock(book)
        assert (before.available, before.reserved, before.sold) == (1, 0, 3)

        records = [record for svc in ("orders", "inventory")
                   async for record in db[svc]["outbox"].find({"correlation_id": order.id})]
        assert sorted(r["name"] for r in records) == [
            "OrderConfirmed", "OrderPlaced", "StockReserved"]
        marks = {svc: stack.log_path(svc).stat().st_size for svc in ("orders", "inventory")}

        async with exchange_of(stack) as exchange:
            for record in records:  # the very messages again, as a broker failover could
                await exchange.publish(aio_pika.Message(
                    bytes(record["payload"]), message_id=record["_id"], type=record["name"],
                    correlation_id=order.id, content_type=PROTOBUF,
                    headers=dict(record.get("headers", {}))), routing_key=record["name"])

        def duplicates(svc: str) -> int:
            return sum(m["message"] == "duplicate event skipped"
                       for m in log_lines(stack, svc, marks[svc]))

        async def all_skipped() -> bool:
            # orders consumes StockReserved; inventory OrderPlaced and OrderConfirmed.
            return duplicates("orders") >= 1 and duplicates("inventory") >= 2

        await eventually(all_skipped, WAIT)
        after = await shop.book(book)
        assert (after.available, after.reserved, after.sold) == (1, 0, 3)
        assert (await shop.order(order.id)).status == S.ORDER_STATUS_CONFIRMED
        payment = await db["orders"]["payments"].find_one({"_id": order.id})
        assert payment is not None
        assert payment["state"] == "approved"  # charged once, never refunded
        assert await shop.invariant_violations() == []

    for svc in ("orders", "inventory"):
        business = [m.group(0) for m in log_lines(stack, svc, marks[svc])
                    if m["logger"].startswith(f"{svc}.")]
        assert business == [], svc
