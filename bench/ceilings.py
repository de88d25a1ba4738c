"""Raw ceilings of the three things the saga is made of, measured like the saga itself.

Each runs ``concurrency`` closed-loop workers for ``seconds`` from this process:

* ``grpc_unary``: the standard health ``Check`` on a bare ``grpc.aio`` server in a child
  process (client and server on separate cores, as the load generator and a service are).
* ``amqp_hop``: publish with confirms to a durable quorum queue and consume it on another
  connection; each worker waits for its own message, so latency is publish→delivery.
* ``mongo_write`` / ``mongo_read``: ``insert_one`` of a small document, ``find_one`` by ``_id``.
* ``mongo_txn``: that ``insert_one`` in a transaction, committed with majority write concern,
  as ``Outbox.run`` commits: what a commit adds to a write.

Each also reports ``cpu_ms``: this process's CPU per operation, the client's side of it (for
``amqp_hop`` both the publish and the consume), which is what a service spends on the same
operation; ``bench.model`` adds them up into what one order's parts cost.

Each first runs untimed for a moment (a fresh server's first writes create files and caches),
so a ceiling measures the part, not its start-up.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aio_pika
import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.write_concern import WriteConcern

from bench.stats import Series
from runtime.mongo import make_client

WARM_UP_SECONDS = 0.5


async def closed_loop(series: Series, concurrency: int, seconds: float,
                      call: Callable[[int], Awaitable[object]]) -> float:
    """Run ``call(worker)`` back to back on each worker until ``seconds`` pass, after an
    untimed warm-up; returns the timed seconds. The CPU this process spends meanwhile (every
    thread: grpc's and the driver's too) is kept on ``series`` as the client's cost."""
    warm_until = time.perf_counter() + WARM_UP_SECONDS
    while time.perf_counter() < warm_until:
        await asyncio.gather(*(call(i) for i in range(concurrency)))
    stop = time.perf_counter() + seconds

    async def worker(i: int) -> None:
        while time.perf_counter() < stop:
            started = time.perf_counter()
            await call(i)
            series.add(started)

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    series.cpu_seconds = time.process_time() - cpu
    return time.perf_counter() - started


def _serve_health(port: Any) -> None:
    async def serve() -> None:
        server = grpc.aio.server()
        health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)  # type: ignore[attr-defined]
        port.value = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        await server.wait_for_termination()

    asyncio.run(serve())


async def grpc_unary(concurrency: int, seconds: float) -> dict[str, float]:
    spawn = multiprocessing.get_context("spawn")  # never fork a process that runs grpc
    port = spawn.Value("i", 0)
    child = spawn.Process(target=_serve_health, args=(port,), daemon=True)
    child.start()
    try:
        while port.value == 0:  # noqa: ASYNC110 - the flag is set in another process
            await asyncio.sleep(0.05)
        series = Series("grpc_unary")
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port.value}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            await stub.Check(health_pb2.HealthCheckRequest(), wait_for_ready=True, timeout=10)
            elapsed = await closed_loop(series, concurrency, seconds, lambda _: stub.Check(
                health_pb2.HealthCheckRequest(), timeout=10))
        return series.summary(elapsed)
    finally:
        child.terminate()
        child.join(5)


async def amqp_hop(url: str, concurrency: int, seconds: float) -> dict[str, float]:
    name = f"bench.hop.{uuid.uuid4().hex[:8]}"
    waiting: dict[str, asyncio.Future[None]] = {}
    publisher = await aio_pika.connect(url)
    consumer = await aio_pika.connect(url)
    try:
        pch = await publisher.channel(publisher_confirms=True)
        cch = await consumer.channel()
        await cch.set_qos(prefetch_count=max(32, concurrency))
        queue = await cch.declare_queue(name, durable=True,
                                        arguments={"x-queue-type": "quorum"})

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            await message.ack()
            future = waiting.pop(message.message_id or "", None)
            if future is not None and not future.done():
                future.set_result(None)

        tag = await queue.consume(on_message)

        async def hop(_: int) -> None:
            message_id = uuid.uuid4().hex
            arrived = waiting[message_id] = asyncio.get_running_loop().create_future()
            await pch.default_exchange.publish(aio_pika.Message(
                b"x" * 200, message_id=message_id,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT), routing_key=name, timeout=10)
            await asyncio.wait_for(arrived, 10)  # often delivered before the confirm is back

        series = Series("amqp_hop")
        elapsed = await closed_loop(series, concurrency, seconds, hop)
        await queue.cancel(tag)
        await cch.queue_delete(name)
        return series.summary(elapsed)
    finally:
        await consumer.close()
        await publisher.close()


async def mongo_ops(url: str, concurrency: int, seconds: float) -> dict[str, dict[str, float]]:
    client = make_client(url)
    db = client[f"bench_{uuid.uuid4().hex[:8]}_ceiling"]
    written: list[str] = []
    try:
        async def write(i: int) -> None:
            doc_id = uuid.uuid4().hex
            await db["docs"].insert_one({"_id": doc_id, "worker": i, "n": 1, "pad": "x" * 200})
            written.append(doc_id)

        async def read(i: int) -> None:
            await db["docs"].find_one({"_id": written[(i * 7919 + len(written)) % len(written)]})

        async def commit(i: int) -> None:
            async def insert(session: AsyncClientSession) -> None:
                await db["committed"].insert_one(
                    {"_id": uuid.uuid4().hex, "worker": i, "n": 1, "pad": "x" * 200},
                    session=session)

            async with client.start_session() as session:
                await session.with_transaction(insert, write_concern=WriteConcern("majority"))

        writes, reads, txns = Series("mongo_write"), Series("mongo_read"), Series("mongo_txn")
        write_s = await closed_loop(writes, concurrency, seconds, write)
        read_s = await closed_loop(reads, concurrency, seconds, read)
        txn_s = await closed_loop(txns, concurrency, seconds, commit)
        return {"mongo_write": writes.summary(write_s), "mongo_read": reads.summary(read_s),
                "mongo_txn": txns.summary(txn_s)}
    finally:
        await client.drop_database(db.name)
        await client.close()


async def measure(mongo_url: str, amqp_url: str, concurrency: int,
                  seconds: float) -> dict[str, dict[str, float]]:
    """Every ceiling, one after another, so none disturbs another."""
    return {"grpc_unary": await grpc_unary(concurrency, seconds),
            "amqp_hop": await amqp_hop(amqp_url, concurrency, seconds),
            **await mongo_ops(mongo_url, concurrency, seconds)}
