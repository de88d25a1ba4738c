"""``bookstore admin dead-letters`` against the services as processes: a poison message
published to the running stack is kept by orders, listed, shown, replayed and purged."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

import aio_pika
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from contracts.bookstore.events.v1 import events_pb2 as ev
from runtime.mongo import Document, make_client
from tests.integration.client.conftest import Cli, Stack
from tests.integration.client.test_cli_admin import login_admin
from tests.integration.client.test_cli_journey import register_and_login
from tests.integration.saga.helpers import eventually

pytestmark = pytest.mark.integration
WAIT = 20.0
T = TypeVar("T")
FIELDS = {"id", "type", "order_id", "error", "attempts", "dead_lettered_at", "queue"}


async def publish_poison(amqp_url: str, stack: Stack, message_id: str) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(f"{stack.env['BOOKSTORE_SAGA_PREFIX']}.events")
        await exchange.publish(aio_pika.Message(b"\xff\xff not protobuf", message_id=message_id,
                                                type="StockReserved"),
                               routing_key="StockReserved")


async def in_orders_db(mongo_url: str, stack: Stack,
                       action: Callable[[AsyncDatabase[Document]], Awaitable[T]]) -> T:
    client = make_client(mongo_url)
    try:
        return await action(client[stack.env["BOOKSTORE_ORDERS_MONGO_DB"]])
    finally:
        await client.close()


def keep(mongo_url: str, stack: Stack, record: Document) -> None:
    async def insert(db: AsyncDatabase[Document]) -> None:
        await db["dead_letters"].insert_one(record)

    asyncio.run(in_orders_db(mongo_url, stack, insert))


def count(mongo_url: str, stack: Stack, collection: str, query: Document) -> int:
    async def count_them(db: AsyncDatabase[Document]) -> int:
        return await db[collection].count_documents(query)

    return asyncio.run(in_orders_db(mongo_url, stack, count_them))


def decodable(record_id: str, order_id: str) -> Document:
    event = ev.StockReserved(order_id=order_id,
                             lines=[ev.OrderLineItem(book_id="0" * 24, quantity=1)])
    event.meta.event_id = record_id
    return {"_id": record_id, "type": "StockReserved", "correlation_id": order_id,
            "error": "KeyError: 'payment_reference'", "attempts": 5,
            "dead_lettered_at": datetime.now(UTC), "queue": "e2e.orders",
            "payload": event.SerializeToString(), "headers": {}, "content_type": None}


def listed(cli: Cli) -> list[dict[str, object]]:
    letters: list[dict[str, object]] = json.loads(
        cli.ok("admin", "dead-letters", "list", "orders", "--json").stdout)["dead_letters"]
    return letters


def wait_listed(cli: Cli, letter_id: str) -> dict[str, object]:
    """The listing's entry for ``letter_id``, once orders has kept it (polled, bounded)."""
    deadline = time.monotonic() + WAIT
    while True:
        found = [letter for letter in listed(cli) if letter["id"] == letter_id]
        if found:
            return found[0]
        assert time.monotonic() < deadline, f"{letter_id} not kept within {WAIT} s"
        time.sleep(0.2)  # poll interval, bounded by the deadline


def test_a_poison_message_is_listed_shown_replayed_and_purged(
    cli: Cli, stack: Stack, mongo_url: str, amqp_url: str,
) -> None:
    login_admin(cli)
    poison_id = f"cli-poison-{uuid.uuid4().hex[:8]}"
    asyncio.run(publish_poison(amqp_url, stack, poison_id))
    letter = wait_listed(cli, poison_id)
    assert set(letter) == FIELDS
    assert (letter["type"], letter["order_id"], letter["attempts"]) == (
        "StockReserved", None, 0)
    assert str(letter["error"]).startswith("UndecodableMessage")

    event_id = f"cli-event-{uuid.uuid4().hex[:8]}"
    order_id = uuid.uuid4().hex  # well formed, so the replay is handled, but unknown to orders
    keep(mongo_url, stack, decodable(event_id, order_id))
    shown = json.loads(cli.ok("admin", "dead-letters", "show", "orders", event_id,
                              "--json").stdout)
    assert shown["event"]["order_id"] == order_id
    assert shown["order_id"] == order_id
    assert order_id in cli.ok("admin", "dead-letters", "show", "orders", event_id).stdout
    table = cli("admin", "dead-letters", "list", "orders", env={"COLUMNS": "80"})
    assert table.exit_code == 0, table.stderr
    assert "Dead letters of orders" in table.stdout
    assert max(len(line) for line in table.stdout.splitlines()) <= 80, table.stdout

    # Replayed through the orders process: its consumer takes it (an unknown order: orders
    # answers with a cancellation that releases whatever inventory might hold).
    assert "replayed 1 dead letter" in cli.ok("admin", "dead-letters", "replay", "orders",
                                              event_id).stdout

    async def handled() -> bool:  # in the orders service's inbox
        return await in_orders_db(mongo_url, stack, lambda db: db["processed_events"]
                                  .count_documents({"_id": event_id})) == 1

    asyncio.run(eventually(handled, WAIT))
    assert event_id not in {str(d["id"]) for d in listed(cli)}

    kept = count(mongo_url, stack, "dead_letters", {})
    declined = cli("admin", "dead-letters", "purge", "orders", input="n\n")
    assert declined.exit_code == 1
    assert "nothing purged" in declined.stdout
    assert count(mongo_url, stack, "dead_letters", {}) == kept
    confirmed = cli.ok("admin", "dead-letters", "purge", "orders", input="y\n")
    assert f"purged {kept} dead letter" in confirmed.stdout
    keep(mongo_url, stack, decodable(f"cli-event-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex))
    assert "purged 1 dead letter of orders" in cli.ok("admin", "dead-letters", "purge",
                                                      "orders", "--yes").stdout
    assert "no dead letters in orders" in cli.ok("admin", "dead-letters", "list",
                                                 "orders").stdout


def test_dead_letters_need_an_admin_and_a_service_that_keeps_them(cli: Cli,
                                                                  stack: Stack) -> None:
    register_and_login(cli)
    refused = cli("admin", "dead-letters", "list", "inventory")
    assert refused.exit_code == 1
    assert "admin" in refused.stderr
    unknown = cli("admin", "dead-letters", "list", "user")
    assert unknown.exit_code == 2
    assert "inventory, orders" in unknown.stderr
    neither = cli("admin", "dead-letters", "replay", "orders")
    assert neither.exit_code == 2
    assert "--all" in neither.stderr
