"""After the fault and the load: wait for the system to drain, then check it is consistent.

Draining is polled against the databases themselves (bounded); the checks then read the
orders, payments, outboxes, ``processed_events``, stock and the kept dead letters once. Every
scenario ends with :func:`assert_system_consistent`.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from pymongo.asynchronous.database import AsyncDatabase

from runtime.mongo import Document, make_client
from tests.chaos.broker import dead_letter_queue_lengths
from tests.chaos.load import LoadReport
from tests.e2e.shop import open_shop
from tests.stack import Stack

# Long enough for the slowest recovery: a SIGKILLed service's open transactions keep their
# documents (a redelivered event's processed_events id, a book's stock) until the server
# aborts them, 60 s by default; a relay round cut off by the database keeps its claims for
# the relay's lease (10 s).
DRAIN_TIMEOUT = 90.0
# A service drains its dead-letter queue into ``dead_letters`` as soon as a message lands.
DEAD_LETTER_TIMEOUT = 30.0
TERMINAL = frozenset({"CONFIRMED", "REJECTED", "CANCELLED"})
# Which service consumes each event: it must have recorded every one of them as processed.
CONSUMER = {"OrderPlaced": "inventory", "OrderConfirmed": "inventory",
            "OrderCancelled": "inventory", "StockReserved": "orders", "StockRejected": "orders",
            "BookAdded": "orders", "BookChanged": "orders"}
SUBSCRIBERS = ("inventory", "orders")
ANSWERS = ("StockReserved", "StockRejected")


@dataclass(frozen=True)
class Snapshot:
    orders: list[Document]
    outbox: dict[str, list[Document]]  # by emitting service
    processed: dict[str, set[str]]  # event ids, by consuming service
    payments: list[Document]


async def snapshot(dbs: Mapping[str, AsyncDatabase[Document]]) -> Snapshot:
    orders = dbs["orders"]
    return Snapshot(
        orders=await orders["orders"].find({}, {"status": 1, "lines": 1, "history": 1,
                                                "payment_reference": 1}).to_list(),
        outbox={svc: await dbs[svc]["outbox"].find({}, {"payload": 0}).to_list()
                for svc in SUBSCRIBERS},
        processed={svc: {d["_id"] async for d in dbs[svc]["processed_events"].find({}, {})}
                   for svc in SUBSCRIBERS},
        payments=await orders["payments"].find({}).to_list())


def drain_problems(now: Snapshot) -> list[str]:
    """What is still in flight; empty once the saga has nothing left to do."""
    problems = [f"order {o['_id']} is {o['status']}" for o in now.orders
                if o["status"] not in TERMINAL]
    for svc, records in now.outbox.items():
        problems += [f"{svc} outbox {r['_id']} ({r['name']}) is {r['state']}"
                     for r in records if r["state"] != "published"]
        problems += [f"{r['name']} {r['_id']} from {svc} never handled by {CONSUMER[r['name']]}"
                     for r in records if r["_id"] not in now.processed[CONSUMER[r["name"]]]]
    return problems


async def assert_system_consistent(stack: Stack, mongo_url: str, amqp_url: str,
                                   load: LoadReport, *,
                                   poison: Mapping[str, str] | None = None) -> Snapshot:
    """Drain, then check everything; ``poison`` maps each injected bad message's id to the
    service that must keep it as a dead letter (and nothing else may be dead-lettered)."""
    assert load.accepted, "no order was accepted: the scenario tested nothing"
    client = make_client(mongo_url)
    try:
        dbs = {svc: client[stack.env[f"BOOKSTORE_{svc.upper()}_MONGO_DB"]]
               for svc in SUBSCRIBERS}
        now = await drained(dbs)
        statuses = {o["_id"]: o["status"] for o in now.orders}
        assert set(load.accepted) <= set(statuses), "an accepted order is missing"
        check_each_order_settled_once(now)
        check_payments(now)
        await check_stock(stack, now)
        await check_dead_letters(stack, dbs, amqp_url, poison or {})
        return now
    finally:
        await client.close()


async def drained(dbs: Mapping[str, AsyncDatabase[Document]]) -> Snapshot:
    """The snapshot once nothing is left in flight, polled for at most DRAIN_TIMEOUT."""
    now = await snapshot(dbs)
    try:
        async with asyncio.timeout(DRAIN_TIMEOUT):
            while drain_problems(now):
                await asyncio.sleep(0.5)
                now = await snapshot(dbs)
    except TimeoutError:
        problems = drain_problems(now)
        raise AssertionError(f"not drained after {DRAIN_TIMEOUT:.0f} s: {len(problems)} "
                             f"problems, e.g. {problems[:10]}") from None
    return now


def check_each_order_settled_once(now: Snapshot) -> None:
    """One OrderPlaced per order, one answer from inventory, one settlement in its history."""
    placed = Counter(r["correlation_id"] for r in now.outbox["orders"]
                     if r["name"] == "OrderPlaced")
    answered = Counter(r["correlation_id"] for r in now.outbox["inventory"]
                       if r["name"] in ANSWERS)
    ids = {o["_id"] for o in now.orders}
    assert placed == Counter(ids), "not exactly one OrderPlaced per order"
    assert answered == Counter(ids), "inventory did not answer every order exactly once"
    for order in now.orders:
        moves = [h["status"] for h in order["history"] if "step" not in h]  # no saga steps
        assert moves == ["PENDING", order["status"]], f"order {order['_id']} moved {moves}"


def check_payments(now: Snapshot) -> None:
    """Paid exactly for the confirmed orders, once each: the reference on the order is the
    one approved charge."""
    by_order = {o["_id"]: o for o in now.orders}
    approved = {p["_id"]: p for p in now.payments if p["state"] == "approved"}
    confirmed = {i for i, o in by_order.items() if o["status"] == "CONFIRMED"}
    assert set(approved) == confirmed, "approved charges and confirmed orders differ"
    for order_id, payment in approved.items():
        assert payment["reference"] == by_order[order_id]["payment_reference"]
    assert {p["_id"] for p in now.payments} <= set(by_order), "a charge for no order"


async def check_stock(stack: Stack, now: Snapshot) -> None:
    """Nothing held any more, every book balanced, and sold = what confirmed orders bought."""
    bought: Counter[str] = Counter()
    for order in now.orders:
        if order["status"] == "CONFIRMED":
            for line in order["lines"]:
                bought[line["book_id"]] += line["quantity"]
    async with open_shop(stack) as shop:
        assert await shop.invariant_violations() == []
        for book_id in {line["book_id"] for o in now.orders for line in o["lines"]}:
            book = await shop.book(book_id)
            assert (book.reserved, book.sold) == (0, bought[book_id]), f"book {book_id}"


async def kept_dead_letters(dbs: Mapping[str, AsyncDatabase[Document]]
                            ) -> dict[str, list[Document]]:
    return {svc: await dbs[svc]["dead_letters"].find({}, {"payload": 0}).to_list()
            for svc in SUBSCRIBERS}


async def check_dead_letters(stack: Stack, dbs: Mapping[str, AsyncDatabase[Document]],
                             amqp_url: str, poison: Mapping[str, str]) -> None:
    """Each injected poison message kept exactly once, by the service it reached, with why
    and no handler attempt; nothing else kept; the dead-letter queues drained."""
    prefix = stack.env["BOOKSTORE_SAGA_PREFIX"]
    found = await kept_dead_letters(dbs)
    try:
        async with asyncio.timeout(DEAD_LETTER_TIMEOUT):
            while (sum(map(len, found.values())) < len(poison)
                   or any((await dead_letter_queue_lengths(amqp_url, prefix,
                                                           SUBSCRIBERS)).values())):
                await asyncio.sleep(0.5)
                found = await kept_dead_letters(dbs)
    except TimeoutError:
        raise AssertionError(f"dead letters not drained into the databases: kept {found}, "
                             f"expected {dict(poison)}") from None
    held = {letter["_id"]: svc for svc, letters in found.items() for letter in letters}
    assert sum(map(len, found.values())) == len(held), "a message dead-lettered twice"
    assert held == dict(poison), f"dead letters {held}, expected {dict(poison)}"
    for letters in found.values():
        for letter in letters:
            assert letter.get("error"), f"dead letter {letter['_id']} says no why"
            assert letter["headers"].get("x-error") == letter["error"]
            assert letter.get("attempts") == 0, "an undecodable message was retried"
