"""Storing new orders: many in one transaction when they arrive together (a group commit).

A new order is its document and its ``OrderPlaced``, committed together. Orders that arrive
while a commit is under way wait for it and then go in one transaction, however many (up to
``max_batch``): one insert of the orders, one of their events, one commit, where each alone
would take three round trips. One order arriving alone is committed at once, as before, so a
quiet shop waits for nothing; a rush (a sale's first second) pays a commit per batch instead of
per order. Each event keeps its own request's trace (:class:`saga.unit_of_work.Origin`).

A batch fails whole: if one of its orders repeats an idempotency key, every order of it is
stored again alone, so only that one is refused (with ``DuplicateKeyError``).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Sequence
from dataclasses import dataclass, field

from pymongo.errors import BulkWriteError, DuplicateKeyError

from contracts.bookstore.events.v1 import events_pb2 as ev
from orders import metrics
from orders.model import Order
from orders.store import OrderStore
from saga import Outbox, UnitOfWork
from saga.tracing import carrier
from saga.unit_of_work import Origin

DEFAULT_MAX_BATCH = 64


@dataclass
class _Waiting:
    order: Order
    trace: dict[str, str]  # the placing call's, kept on the order for watches to link to
    origin: Origin
    stored: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future())


class OrderPlacer:
    """Stores each new order with its ``OrderPlaced``, batching the ones that arrive together."""

    def __init__(self, store: OrderStore, outbox: Outbox, *,
                 max_batch: int = DEFAULT_MAX_BATCH) -> None:
        self._store = store
        self._outbox = outbox
        self._max_batch = max_batch
        self._waiting: list[_Waiting] = []
        self._committing: asyncio.Task[None] | None = None

    async def store(self, order: Order) -> None:
        """Return once ``order`` and its event are committed; raises ``DuplicateKeyError`` if
        its idempotency key is taken (the key decides its ``_id``)."""
        waiting = _Waiting(order, carrier(), Origin.here())
        self._waiting.append(waiting)
        if self._committing is None or self._committing.done():
            # Serves many calls, so its database work belongs to no one call's trace.
            self._committing = asyncio.create_task(
                self._commit_all(), name="order-placing", context=contextvars.Context())
        await asyncio.shield(waiting.stored)

    async def _commit_all(self) -> None:
        while self._waiting:
            batch = self._waiting[:self._max_batch]
            del self._waiting[:self._max_batch]
            await self._commit(batch)

    async def _commit(self, batch: Sequence[_Waiting]) -> None:
        try:
            await self._outbox.run(lambda uow: self._insert(batch, uow))
        except (DuplicateKeyError, BulkWriteError) as exc:
            if len(batch) == 1:
                _fail(batch[0], exc)
            else:  # find the one that repeats a key: every order alone
                await asyncio.gather(*(self._commit([one]) for one in batch))
            return
        except Exception as exc:  # every caller hears why its order was not stored
            for one in batch:
                _fail(one, exc)
            return
        for one in batch:
            if not one.stored.done():
                one.stored.set_result(None)

    async def _insert(self, batch: Sequence[_Waiting], uow: UnitOfWork) -> None:
        if len(batch) == 1:
            await self._store.insert(batch[0].order, uow.session, trace=batch[0].trace)
        else:
            await self._store.insert_many([(one.order, one.trace) for one in batch],
                                          uow.session)
        for one in batch:
            order = one.order
            metrics.placed(uow)
            uow.emit(ev.OrderPlaced(order_id=order.id, user_id=order.user_id, lines=[
                ev.OrderLineItem(book_id=line.book_id, quantity=line.quantity)
                for line in order.lines]), origin=one.origin)


def _fail(waiting: _Waiting, exc: BaseException) -> None:
    if not waiting.stored.done():
        waiting.stored.set_exception(exc)
