"""Group commit of new orders: orders that arrive together share one transaction, each with
its own ``OrderPlaced``, and an idempotency key repeated inside a batch refuses only its own
order."""

from __future__ import annotations

import asyncio

import pytest
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from orders.events import EVENTS
from orders.model import Order, OrderLine, new_order
from orders.placing import OrderPlacer
from orders.store import OrderStore
from runtime.mongo import Document
from saga import Outbox

pytestmark = pytest.mark.integration

BOOK = "0" * 24


def an_order(user: str, key: str | None = None) -> Order:
    return new_order(user_id=user, lines=(OrderLine(BOOK, "A book", 1, 1000),),
                     payment_token="tok_visa", idempotency_key=key)


async def placer(db: AsyncDatabase[Document]) -> tuple[OrderPlacer, OrderStore]:
    store = OrderStore(db)
    await store.ensure_indexes()
    outbox = Outbox(db, EVENTS)
    await outbox.ensure_indexes()
    return OrderPlacer(store, outbox), store


async def test_orders_arriving_together_are_each_stored_with_their_own_event(
    mongo_db: AsyncDatabase[Document],
) -> None:
    orders, store = await placer(mongo_db)
    placed = [an_order(f"user-{n}") for n in range(40)]
    await asyncio.gather(*(orders.store(order) for order in placed))
    for order in placed:
        stored = await store.get(order.id)
        assert stored is not None
        assert stored.user_id == order.user_id
    events = await mongo_db["outbox"].find({"name": "OrderPlaced"}).to_list()
    assert sorted(e["correlation_id"] for e in events) == sorted(o.id for o in placed)


async def test_a_repeated_key_in_a_batch_refuses_only_its_own_order(
    mongo_db: AsyncDatabase[Document],
) -> None:
    orders, store = await placer(mongo_db)
    first = an_order("ada", key="k-1")
    await orders.store(first)
    others = [an_order(f"user-{n}") for n in range(10)]
    again = an_order("ada", key="k-1")  # the same key: the same order id
    results = await asyncio.gather(*(orders.store(o) for o in [*others, again]),
                                   return_exceptions=True)
    assert results[:-1] == [None] * len(others)
    assert isinstance(results[-1], DuplicateKeyError)
    for order in others:
        assert await store.get(order.id) is not None
    events = await mongo_db["outbox"].find({"name": "OrderPlaced"}).to_list()
    assert sorted(e["correlation_id"] for e in events) == sorted(
        o.id for o in [first, *others])
