"""Reservations per second: OrderPlaced in, StockReserved/StockRejected out, on real servers.

    python -m bench.reservations --events 2000 --books 50 --stock 30

Publishes ``events`` OrderPlaced messages (one copy of a random book each) to an in-process
inventory participant and times until every one is answered on the exchange. Each answer is
one transaction: dedup record, conditional stock update, reservation, outbox event; then the
relay publishes it with confirms. Uses a throwaway prefix and database; prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import time
import uuid
from typing import Any

import aio_pika

from contracts.bookstore.events.v1 import events_pb2 as ev
from contracts.events import new_meta
from inventory.app import saga_participant
from inventory.config import InventorySettings
from inventory.handlers import InventoryHandlers, subscriptions
from inventory.isbn import isbn13_check_digit
from inventory.model import NewBook
from inventory.stock import StockLedger
from inventory.stock_store import StockStore
from inventory.store import BookStore
from runtime.mongo import make_client
from saga._envelope import CONTENT_TYPE


async def main(events: int, books: int, stock: int, mongo_url: str, amqp_url: str) -> None:
    run_id = uuid.uuid4().hex[:8]
    prefix = f"bench.{run_id}"
    client = make_client(mongo_url)
    db = client[f"bench_{run_id}_inventory"]
    connection: Any = await aio_pika.connect_robust(amqp_url)
    answers: dict[str, int] = {"StockReserved": 0, "StockRejected": 0}
    done = asyncio.Event()

    async def on_reply(message: Any) -> None:
        answers[message.type] += 1
        await message.ack()
        if sum(answers.values()) >= events:
            done.set()

    try:
        store = BookStore(db)
        await store.ensure_indexes()
        book_ids = [(await store.add(NewBook(f"Book {i}", "Bench", isbn(i), 100, stock, "", 0))).id
                    for i in range(books)]
        channel = await connection.channel(publisher_confirms=False)
        exchange = await channel.declare_exchange(
            f"{prefix}.events", aio_pika.ExchangeType.TOPIC, durable=True)
        replies = await channel.declare_queue(exclusive=True)
        for name in answers:
            await replies.bind(exchange, routing_key=name)
        await replies.consume(on_reply)
        table = subscriptions(InventoryHandlers(StockLedger(StockStore(db))))
        settings = InventorySettings.load(amqp_url=amqp_url, saga_prefix=prefix)
        async with saga_participant(settings, db, table):
            messages = [order(random.choice(book_ids)) for _ in range(events)]  # noqa: S311
            started = time.perf_counter()
            for body, message_id in messages:
                await exchange.publish(aio_pika.Message(
                    body, message_id=message_id, type="OrderPlaced", content_type=CONTENT_TYPE,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT), routing_key="OrderPlaced")
            await asyncio.wait_for(done.wait(), 600)
            seconds = time.perf_counter() - started
        report = await store.check_invariant()
        print(json.dumps({
            "events": events, "seconds": round(seconds, 3),
            "per_second": round(events / seconds, 1), "reserved": answers["StockReserved"],
            "rejected": answers["StockRejected"], "books": books, "stock_per_book": stock,
            "invariant_violations": len(report.violations)}))
    finally:
        await cleanup(connection, prefix)
        await client.drop_database(db.name)
        await client.close()


def order(book_id: str) -> tuple[bytes, str]:
    event = ev.OrderPlaced(meta=new_meta(), order_id=uuid.uuid4().hex, user_id="bench",
                           lines=[ev.OrderLineItem(book_id=book_id, quantity=1)])
    return event.SerializeToString(), event.meta.event_id


def isbn(n: int) -> str:
    body = f"979{n:09d}"
    return body + isbn13_check_digit(body)


async def cleanup(connection: Any, prefix: str) -> None:
    async with connection:
        channel = await connection.channel()
        for name in (f"{prefix}.inventory", f"{prefix}.inventory.dead"):
            await channel.queue_delete(name)
        await channel.exchange_delete(f"{prefix}.inventory.dead")
        await channel.exchange_delete(f"{prefix}.events")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--books", type=int, default=50)
    parser.add_argument("--stock", type=int, default=30)
    parser.add_argument("--mongo-url", default=os.environ.get(
        "BOOKSTORE_TEST_MONGO_URL", "mongodb://127.0.0.1:27100/?retryWrites=false"))
    parser.add_argument("--amqp-url", default=os.environ.get(
        "BOOKSTORE_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"))
    args = parser.parse_args()
    asyncio.run(main(args.events, args.books, args.stock, args.mongo_url, args.amqp_url))
