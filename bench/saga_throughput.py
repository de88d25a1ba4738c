"""Events per second through outbox → relay → broker → idempotent consumer, on real servers.

    python -m bench.saga_throughput --events 2000 --concurrency 50

Each event is its own transaction (as an RPC would store it); the consumer writes one effect
document per event in its own transaction. Uses a throwaway prefix and databases.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from typing import Any

import aio_pika

from contracts.bookstore.events.v1 import events_pb2
from runtime.mongo import make_client
from saga import SagaParticipant, UnitOfWork, new_meta


async def main(events: int, concurrency: int, mongo_url: str, amqp_url: str) -> None:
    run_id = uuid.uuid4().hex[:8]
    prefix = f"bench.{run_id}"
    client = make_client(mongo_url)
    orders_db, inventory_db = client[f"bench_{run_id}_orders"], client[f"bench_{run_id}_inventory"]
    done = asyncio.Event()
    handled = 0

    async def on_placed(event: events_pb2.OrderPlaced, uow: UnitOfWork) -> None:
        nonlocal handled
        await inventory_db["effects"].insert_one({"order_id": event.order_id},
                                                 session=uow.session)
        handled += 1
        if handled >= events:
            done.set()

    try:
        async with (
            SagaParticipant(service="inventory", db=inventory_db, amqp_url=amqp_url,
                            subscriptions={events_pb2.OrderPlaced: on_placed}, prefix=prefix),
            SagaParticipant(service="orders", db=orders_db, amqp_url=amqp_url,
                            subscriptions={}, prefix=prefix) as orders,
        ):
            gate = asyncio.Semaphore(concurrency)

            async def place(i: int) -> None:
                async def work(uow: UnitOfWork) -> None:
                    uow.emit(events_pb2.OrderPlaced(meta=new_meta(), order_id=f"o-{i}"))

                async with gate:
                    await orders.outbox.run(work)

            started = time.perf_counter()
            await asyncio.gather(*(place(i) for i in range(events)))
            stored = time.perf_counter() - started
            await asyncio.wait_for(done.wait(), 300)
            total = time.perf_counter() - started
        effects = await inventory_db["effects"].count_documents({})
        print(f"{events} events: stored in {stored:.2f}s ({events / stored:.0f}/s), "
              f"handled end to end in {total:.2f}s ({events / total:.0f}/s); "
              f"effects={effects}")
    finally:
        await cleanup(amqp_url, prefix)
        for db in (orders_db, inventory_db):
            await client.drop_database(db.name)
        await client.close()


async def cleanup(amqp_url: str, prefix: str) -> None:
    connection: Any = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        for name in (f"{prefix}.inventory", f"{prefix}.inventory.dead"):
            await channel.queue_delete(name)
        await channel.exchange_delete(f"{prefix}.inventory.dead")
        await channel.exchange_delete(f"{prefix}.events")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--mongo-url", default=os.environ.get(
        "BOOKSTORE_TEST_MONGO_URL", "mongodb://127.0.0.1:27100/?retryWrites=false"))
    parser.add_argument("--amqp-url", default=os.environ.get(
        "BOOKSTORE_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"))
    args = parser.parse_args()
    asyncio.run(main(args.events, args.concurrency, args.mongo_url, args.amqp_url))
