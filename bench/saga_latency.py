"""Order latency through the whole saga, against a running stack on this machine.

    BOOKSTORE_ADMIN_EMAIL=... BOOKSTORE_ADMIN_PASSWORD=... \\
        python -m bench.saga_latency --orders 200 --concurrency 16

Addresses come from ``BOOKSTORE_USER_ADDR`` / ``_INVENTORY_ADDR`` / ``_ORDERS_ADDR`` (the
local defaults otherwise) and must be loopback: this is a load generator. It registers a few
customers, adds well-stocked books as the admin, then places ``--orders`` one-copy orders,
``--concurrency`` at a time over ``--books`` books, each watched (``WatchOrder``) until it
leaves PENDING. It stops placing after ``--max-seconds``; an order that fails or outlasts
``--watch-timeout`` is counted under ``errors``. Prints one JSON object: PlaceOrder latency,
PlaceOrder→CONFIRMED latency (p50/p99, milliseconds) and confirmed orders per second.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import statistics
import time
import uuid

import grpc

from contracts.bookstore.inventory.v1 import inventory_pb2 as inv
from contracts.bookstore.inventory.v1 import inventory_pb2_grpc as inv_grpc
from contracts.bookstore.orders.v1 import orders_pb2 as pb
from contracts.bookstore.orders.v1 import orders_pb2_grpc as pb_grpc
from contracts.bookstore.user.v1 import user_pb2 as users
from contracts.bookstore.user.v1 import user_pb2_grpc as users_grpc
from inventory.isbn import isbn13_check_digit
from runtime.settings import Settings

MAX_ORDERS = 5000
CUSTOMERS = 8


def loopback(address: str) -> str:
    host = address.rsplit(":", 1)[0].strip("[]")
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise SystemExit(f"refusing to load {address}: only loopback addresses are allowed")
    return address


def percentile(samples: list[float], q: float) -> float:
    if len(samples) < 2:
        return samples[0] if samples else 0.0
    return statistics.quantiles(samples, n=100, method="inclusive")[int(q) - 1]


Metadata = tuple[tuple[str, str], ...]


async def login(stub: users_grpc.UserServiceAsyncStub, email: str, password: str) -> Metadata:
    reply = await stub.AuthenticateUser(users.UserAuthRequest(email=email, password=password),
                                        timeout=10)
    return (("authorization", f"Bearer {reply.access_token}"),)


async def run(orders: int, concurrency: int, books: int, max_seconds: float,
              watch_timeout: float) -> dict[str, object]:
    settings = Settings.from_env("orders")
    admin_email = os.environ.get("BOOKSTORE_ADMIN_EMAIL", "admin@bookstore.local")
    admin_password = os.environ.get("BOOKSTORE_ADMIN_PASSWORD", "change-me-admin")
    async with grpc.aio.insecure_channel(loopback(settings.user_addr)) as uc, \
            grpc.aio.insecure_channel(loopback(settings.inventory_addr)) as ic, \
            grpc.aio.insecure_channel(loopback(settings.orders_addr)) as oc:
        user_stub = users_grpc.UserServiceStub(uc)
        order_stub = pb_grpc.OrderServiceStub(oc)
        admin = await login(user_stub, admin_email, admin_password)
        catalogue = inv_grpc.InventoryServiceStub(ic)
        shelf = []
        for i in range(books):  # spread orders so one stock document is not the only hot spot
            body = f"97982{uuid.uuid4().int % 10**7:07d}"
            shelf.append((await catalogue.AddBook(inv.BookRequest(
                title=f"Benchmark {i}", author="Bench", isbn=body + isbn13_check_digit(body),
                price_cents=999, stock=orders + 10), metadata=admin, timeout=10)).book.id)
        customers = []
        for i in range(CUSTOMERS):
            email = f"bench-{uuid.uuid4().hex[:10]}-{i}@bench.example"
            await user_stub.CreateUser(users.UserRequest(
                name=f"Bench {i}", email=email, password="bench password"), timeout=10)
            customers.append(await login(user_stub, email, "bench password"))

        place_ms: list[float] = []
        confirm_ms: list[float] = []
        outcomes: dict[str, int] = {}
        errors: dict[str, int] = {}
        gate = asyncio.Semaphore(concurrency)
        deadline = time.perf_counter() + max_seconds

        async def place_and_watch(
            who: Metadata, book: str, started: float
        ) -> pb.OrderStatus.ValueType:
            order = (await order_stub.PlaceOrder(pb.OrderRequest(
                lines=[pb.OrderLineRequest(book_id=book, quantity=1)],
                payment_token="tok_visa"), metadata=who, timeout=10)).order
            place_ms.append((time.perf_counter() - started) * 1000)
            status = order.status
            call = order_stub.WatchOrder(pb.OrderIDRequest(order_id=order.id), metadata=who,
                                         timeout=watch_timeout)
            try:
                async for reply in call:
                    status = reply.order.status
                    if status != pb.ORDER_STATUS_PENDING:
                        break
            finally:
                call.cancel()  # CONFIRMED does not end the stream: hang up, or it keeps going
            return status

        async def one(i: int) -> None:
            async with gate:
                if time.perf_counter() > deadline:
                    return
                who = customers[i % CUSTOMERS]
                started = time.perf_counter()
                try:
                    status = await place_and_watch(who, shelf[i % len(shelf)], started)
                except grpc.aio.AioRpcError as exc:  # counted, so one slow order ends no run
                    errors[exc.code().name] = errors.get(exc.code().name, 0) + 1
                    return
                name = pb.OrderStatus.Name(status)
                outcomes[name] = outcomes.get(name, 0) + 1
                if status == pb.ORDER_STATUS_CONFIRMED:
                    confirm_ms.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(orders)))
        elapsed = time.perf_counter() - started
    return {
        "orders": len(place_ms), "concurrency": concurrency, "books": books, **outcomes,
        "errors": errors,
        "place_p50_ms": round(percentile(place_ms, 50), 1),
        "place_p99_ms": round(percentile(place_ms, 99), 1),
        "confirmed_p50_ms": round(percentile(confirm_ms, 50), 1),
        "confirmed_p99_ms": round(percentile(confirm_ms, 99), 1),
        "confirmed_per_s": round(len(confirm_ms) / elapsed, 1),
        "elapsed_s": round(elapsed, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--books", type=int, default=10)
    parser.add_argument("--max-seconds", type=float, default=60.0, help="stop placing after")
    parser.add_argument("--watch-timeout", type=float, default=120.0)
    args = parser.parse_args()
    if not (1 <= args.orders <= MAX_ORDERS and 1 <= args.concurrency <= 256
            and 1 <= args.books <= 100):
        raise SystemExit(f"--orders must be 1..{MAX_ORDERS}, --concurrency 1..256, "
                         "--books 1..100")
    print(json.dumps(asyncio.run(run(args.orders, args.concurrency, args.books,
                                      args.max_seconds, args.watch_timeout))))


if __name__ == "__main__":
    main()
