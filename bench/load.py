"""The load generator: virtual customers on the client library, closed and open loop.

A customer's visit is what a person does: list a page of books, open one, place an order of
one to three lines and follow it through ``watch_order`` until the saga settles it. Closed
loop: ``concurrency`` customers visit back to back. Open loop: visits start at a fixed rate
whatever the system does (a slow system faces more open visits, not fewer arrivals); how late
each arrival starts is recorded as ``lag``, so a generator that cannot keep up is visible.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from bench.stats import Recorder
from client import BookstoreClient, BookstoreClientError, ClientConfig, OrderLine
from contracts.bookstore.orders.v1 import orders_pb2 as pb
from inventory.isbn import isbn13_check_digit

PENDING = pb.ORDER_STATUS_PENDING
PASSWORD = "bench password"


@dataclass
class Shop:
    """The seeded catalogue and the logged-in customers."""

    books: list[str]
    customers: list[BookstoreClient]

    async def close(self) -> None:
        for customer in self.customers:
            await customer.close()


async def open_shop(configs: Sequence[ClientConfig], admin: tuple[str, str], *, books: int,
                    customers: int, stock: int) -> Shop:
    """Add ``books`` well-stocked books as the admin; register and log in ``customers``,
    customer ``i`` talking to the services at ``configs[i % len(configs)]``."""
    async with BookstoreClient(configs[0]) as bs:
        await bs.login(*admin)
        run = uuid.uuid4().int
        shelf = []
        for i in range(books):
            body = f"979{(run + i) % 10**9:09d}"
            book = await bs.add_book(title=f"Bench Book {i}", author=f"Author {i % 5}",
                                     isbn=body + isbn13_check_digit(body),
                                     price_cents=500 + i, stock=stock)
            shelf.append(book.id)
    people = []
    for i in range(customers):
        person = BookstoreClient(configs[i % len(configs)])
        email = f"bench-{uuid.uuid4().hex[:10]}-{i}@bench.example"
        await person.register(f"Bench Customer {i}", email, PASSWORD)
        await person.login(email, PASSWORD)
        people.append(person)
    return Shop(shelf, people)


async def browse(shop: Shop, who: BookstoreClient, rng: random.Random, rec: Recorder) -> None:
    started = time.perf_counter()
    await who.list_books(page_size=20)
    rec.list_books.add(started)
    started = time.perf_counter()
    await who.get_book(rng.choice(shop.books))
    rec.get_book.add(started)


async def order(shop: Shop, who: BookstoreClient, rng: random.Random, rec: Recorder,
                started: float, watch_timeout: float,
                lines: list[OrderLine] | None = None) -> None:
    """Place ``lines`` (else 1 to 3 random ones) and follow the order until it leaves
    PENDING."""
    lines = lines or [OrderLine(book, rng.randint(1, 2))
                      for book in rng.sample(shop.books, rng.randint(1, 3))]
    placed = await who.place_order(lines)
    rec.place.add(started)
    status = placed.status
    if status == PENDING:
        stream = who.watch_order(placed.id, deadline=watch_timeout)
        async with contextlib.aclosing(stream):
            async for seen in stream:
                status = seen.status
                if status != PENDING:
                    break
    name = pb.OrderStatus.Name(status).removeprefix("ORDER_STATUS_")
    rec.outcomes[name] += 1
    if status == pb.ORDER_STATUS_CONFIRMED:
        rec.confirm.add(started)


async def visit(shop: Shop, who: BookstoreClient, rng: random.Random, rec: Recorder,
                watch_timeout: float, *, browsing: bool = True) -> None:
    """One customer visit; a failed call is counted by kind, so it never ends a run."""
    try:
        if browsing:
            await browse(shop, who, rng, rec)
        await order(shop, who, rng, rec, time.perf_counter(), watch_timeout)
    except BookstoreClientError as exc:
        rec.errors[type(exc).__name__] += 1


async def closed_loop(shop: Shop, rec: Recorder, *, concurrency: int, seconds: float,
                      max_orders: int, watch_timeout: float, browsing: bool = True) -> float:
    """``concurrency`` customers visit back to back; stops at ``seconds`` or ``max_orders``."""
    stop = time.perf_counter() + seconds
    placed = 0

    async def customer(i: int) -> None:
        nonlocal placed
        rng = random.Random(i)  # noqa: S311 - load shape, not security
        who = shop.customers[i % len(shop.customers)]
        while time.perf_counter() < stop and placed < max_orders:
            placed += 1
            await visit(shop, who, rng, rec, watch_timeout, browsing=browsing)

    started = time.perf_counter()
    await asyncio.gather(*(customer(i) for i in range(concurrency)))
    return time.perf_counter() - started


async def open_loop(shop: Shop, rec: Recorder, *, rate: float, seconds: float,
                    max_in_flight: int, watch_timeout: float) -> float:
    """Start visits at ``rate`` per second for ``seconds``; beyond ``max_in_flight`` open
    visits an arrival is dropped and counted, so a stalled system cannot grow without end."""
    tasks: set[asyncio.Task[None]] = set()
    begin = time.perf_counter()
    arrivals = int(rate * seconds)
    for n in range(arrivals):
        due = begin + n / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        if len(tasks) >= max_in_flight:
            rec.errors["dropped_arrival"] += 1
            continue
        rec.lag.add(due)  # how late this arrival starts: the generator's own backlog
        who = shop.customers[n % len(shop.customers)]
        task = asyncio.create_task(visit(shop, who, random.Random(n), rec,  # noqa: S311
                                         watch_timeout))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks, timeout=watch_timeout)
    for task in tasks:
        task.cancel()
    return time.perf_counter() - begin


async def reads_only(rec: Recorder, shop: Shop, *, concurrency: int, seconds: float,
                     call: Callable[[BookstoreClient, random.Random], Awaitable[object]],
                     into: str) -> float:
    """Closed-loop reads of one kind, to compare with the trivial unary ceiling."""
    series = getattr(rec, into)
    stop = time.perf_counter() + seconds

    async def worker(i: int) -> None:
        rng = random.Random(i)  # noqa: S311
        who = shop.customers[i % len(shop.customers)]
        while time.perf_counter() < stop:
            started = time.perf_counter()
            await call(who, rng)
            series.add(started)

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return time.perf_counter() - started


async def burst(configs: Sequence[ClientConfig], admin: tuple[str, str], rec: Recorder, *,
                customers: int, copies: int, watch_timeout: float) -> dict[str, float]:
    """``customers`` people, all at once, each order one copy of a book with ``copies`` left:
    a sale's first second. Returns PlaceOrder p50/p99 and how long until every order left
    PENDING (or its watch gave up); outcomes are counted on ``rec``."""
    async with BookstoreClient(configs[0]) as bs:
        await bs.login(*admin)
        body = f"979{uuid.uuid4().int % 10**9:09d}"
        book = await bs.add_book(title="Bench Last Copies", author="Bench",
                                 isbn=body + isbn13_check_digit(body), price_cents=999,
                                 stock=copies)
    people: list[BookstoreClient] = []
    signing_up = asyncio.Semaphore(16)

    async def sign_up(i: int) -> None:
        async with signing_up:
            person = BookstoreClient(configs[i % len(configs)])
            people.append(person)
            email = f"burst-{uuid.uuid4().hex[:10]}-{i}@bench.example"
            await person.register(f"Burst Customer {i}", email, PASSWORD)
            await person.login(email, PASSWORD)

    try:
        await asyncio.gather(*(sign_up(i) for i in range(customers)))
        began = time.perf_counter()

        shop = Shop([book.id], people)

        async def one(who: BookstoreClient) -> None:
            try:
                await order(shop, who, random.Random(0), rec,  # noqa: S311
                            time.perf_counter(), watch_timeout, [OrderLine(book.id, 1)])
            except BookstoreClientError as exc:
                rec.errors[type(exc).__name__] += 1

        await asyncio.gather(*(one(who) for who in people))
        settled = time.perf_counter() - began
    finally:
        for person in people:
            await person.close()
    place = rec.place.summary(settled)
    return {"customers": customers, "copies": copies,
            "burst_place_order_p50_ms": place["p50_ms"],
            "burst_place_order_p99_ms": place["p99_ms"],
            "burst_settle_seconds": round(settled, 3)}
