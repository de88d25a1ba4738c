"""The only module that talks to the orders database.

Every status change is one ``update_one`` whose filter names the statuses it may leave, so a
duplicate or late event, or two people acting at once, can move an order at most once; the
loser sees ``False`` and decides what that means. ``find_one_and_update`` is avoided on
purpose: some MongoDB-compatible servers run it as a collection scan.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.change_stream import AsyncChangeStream
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from orders.lifecycle import Status
from orders.model import Order, OrderLine, StatusChange, keyed_order_id, utc_now
from orders.paging import Position
from runtime.change_feed import paced
from saga.unit_of_work import current_unit_of_work

Document = dict[str, Any]
PAYMENT_DUE = "payment_due"
Session = AsyncClientSession | None
_STATUSES = frozenset(status.value for status in Status)
# Round trips of the shared change stream start at least this far apart (see
# ``runtime.change_feed``): it is how one instance hears of the others' changes, while its
# own are announced in process at once.
FEED_PACE_SECONDS = 0.1


class ChangeFeedError(Exception):
    """The change stream could not open, or broke (a server without them, a failover)."""


class UpdatedIds:
    """The ids of updated orders, as the change stream delivers them."""

    def __init__(self, stream: AsyncChangeStream[Document], pace: float) -> None:
        self._changes = paced(stream, pace)

    async def next(self) -> tuple[str, Status | None] | None:
        """The next moved order's id and the status it was moved to (``None`` for a
        replacement), or ``None`` if nothing came within the stream's wait."""
        try:
            change = await anext(self._changes)
        except PyMongoError as exc:
            raise ChangeFeedError(str(exc)) from exc
        if change is None:
            return None
        fields = (change.get("updateDescription") or {}).get("updatedFields") or {}
        status = fields.get("status")
        return (str(change["documentKey"]["_id"]),
                Status(status) if status in _STATUSES else None)


class OrderStore:
    def __init__(self, db: AsyncDatabase[Document], *,
                 feed_pace: float = FEED_PACE_SECONDS) -> None:
        self.orders = db["orders"]
        self._feed_pace = feed_pace
        self._moved: list[Callable[[str, Order | None], None]] = []

    def on_moved(self, callback: Callable[[str, Order | None], None]) -> None:
        """Call ``callback(order_id, order)`` whenever this store moves an order to another
        status, once the move is committed: how a watch in this process hears of it at once.
        ``order`` is the order as moved when the mover knew it before (else ``None``)."""
        self._moved.append(callback)

    def _announce(self, order_id: str, order: Order | None, session: Session) -> None:
        uow = current_unit_of_work() if session is not None else None
        for callback in self._moved:
            if uow is None:
                callback(order_id, order)
            else:
                uow.after_commit(functools.partial(callback, order_id, order))

    async def ensure_indexes(self) -> None:
        await self.orders.create_index(
            [("user_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
            name="history")
        await self.orders.create_index(
            [("status", ASCENDING), ("created_at", ASCENDING)], name="status_age")
        await self.orders.create_index("refund_due", name="refund_due", sparse=True)

    async def insert(self, order: Order, session: Session = None, *,
                     trace: dict[str, str] | None = None) -> None:
        """Store a new order; raises ``DuplicateKeyError`` if its idempotency key is taken
        (the key decides the order's ``_id``, see :func:`orders.model.keyed_order_id`).
        ``trace``: the placing call's trace context (W3C headers), for watches to link to."""
        document = to_document(order)
        if trace:
            document["trace"] = trace
        await self.orders.insert_one(document, session=session)

    async def insert_many(self, orders: Sequence[tuple[Order, dict[str, str]]],
                          session: Session = None) -> None:
        """Store new orders, each with its placing call's trace context, in one round trip;
        raises ``DuplicateKeyError`` if any idempotency key is taken."""
        documents = []
        for order, trace in orders:
            document = to_document(order)
            if trace:
                document["trace"] = trace
            documents.append(document)
        await self.orders.insert_many(documents, session=session)

    async def trace_of(self, order_id: str) -> dict[str, str]:
        """The trace context the order was placed in; empty if none was recorded."""
        found = await self.orders.find_one({"_id": order_id}, {"trace": 1})
        return dict(found.get("trace") or {}) if found else {}

    async def get(self, order_id: str, session: Session = None) -> Order | None:
        found = await self.orders.find_one({"_id": order_id}, session=session)
        return None if found is None else from_document(found)

    async def with_history(self, order_id: str) -> tuple[Order, list[Document]] | None:
        """The order and its whole stored history, saga steps (``step``) included."""
        found = await self.orders.find_one({"_id": order_id})
        return None if found is None else (from_document(found), list(found.get("history", ())))

    async def by_idempotency_key(self, user_id: str, key: str) -> Order | None:
        found = await self.orders.find_one(
            {"_id": keyed_order_id(user_id, key), "user_id": user_id, "idempotency_key": key})
        return None if found is None else from_document(found)

    async def transition(
        self, order_id: str, sources: Collection[Status], target: Status, reason: str,
        *, session: Session = None, lines: Sequence[OrderLine] | None = None,
        payment_reference: str | None = None, refund_due: bool = False,
        at: datetime | None = None, was: Order | None = None,
    ) -> bool:
        """Move the order to ``target`` if it is in one of ``sources``; ``True`` if it moved.
        ``was``: the order as the caller read it, if its history cannot have grown since (it
        was in a source status and moves only once from it): its watches are then handed the
        moved order instead of reading it."""
        now = at or utc_now()
        changes: Document = {"status": target.value, "updated_at": now}
        if reason:
            changes["reason"] = reason
        if lines is not None:
            changes["lines"] = [_line_document(line) for line in lines]
        if payment_reference is not None:
            changes["payment_reference"] = payment_reference
        if refund_due:
            changes["refund_due"] = True
        result = await self.orders.update_one(
            {"_id": order_id, "status": {"$in": [s.value for s in sources]}},
            {"$set": changes,
             "$push": {"history": {"status": target.value, "at": now, "reason": reason}}},
            session=session)
        if result.modified_count != 1:
            return False
        moved = None if was is None else dataclasses.replace(
            was, status=target, updated_at=now, reason=reason or was.reason,
            lines=was.lines if lines is None else tuple(lines),
            payment_reference=(was.payment_reference if payment_reference is None
                               else payment_reference),
            history=(*was.history, StatusChange(target, now, reason)))
        self._announce(order_id, moved, session)
        return True

    async def note_payment_due(self, order_id: str, amount_cents: int) -> bool:
        """Record, once, that a PENDING order is about to be charged: a step in its history
        (``step: payment_due``), not a status change. One conditional write, no transaction:
        it is what a person reads if the charge never settles. ``False`` if the order is not
        PENDING, or the step is there already."""
        now = utc_now()
        result = await self.orders.update_one(
            {"_id": order_id, "status": Status.PENDING.value, "payment_due_at": None},
            {"$set": {"payment_due_at": now},
             "$push": {"history": {"status": Status.PENDING.value, "at": now,
                                   "reason": f"payment of {amount_cents} cents due",
                                   "step": PAYMENT_DUE}}})
        return result.modified_count == 1

    async def owe_refund(self, order_id: str, session: Session = None) -> bool:
        """Mark a CANCELLED order for the sweeper to refund (a no-op refund if it never paid)."""
        result = await self.orders.update_one(
            {"_id": order_id, "status": Status.CANCELLED.value},
            {"$set": {"refund_due": True}}, session=session)
        return result.matched_count == 1

    @asynccontextmanager
    async def updated_ids(self, *, max_await_ms: int) -> AsyncIterator[UpdatedIds]:
        """A change stream of every change of an order's status (an update that sets it, or a
        replacement), each event carrying only the order's id; raises
        :class:`ChangeFeedError` if the server cannot open one."""
        try:
            stream = await self.orders.watch(
                [{"$match": {"$or": [
                    {"operationType": "replace"},
                    {"operationType": "update",
                     "updateDescription.updatedFields.status": {"$exists": True}}]}},
                 {"$project": {"documentKey": 1, "updateDescription.updatedFields.status": 1}}],
                max_await_time_ms=max_await_ms)
            async with stream:
                yield UpdatedIds(stream, self._feed_pace)
        except PyMongoError as exc:  # opening or closing it
            raise ChangeFeedError(str(exc)) from exc

    async def page(self, user_id: str, after: Position | None, size: int) -> list[Order]:
        """Up to ``size`` orders of ``user_id``, newest first, strictly after ``after``."""
        query: Document = {"user_id": user_id}
        if after is not None:
            query["$or"] = [{"created_at": {"$lt": after.created_at}},
                            {"created_at": after.created_at, "_id": {"$lt": after.order_id}}]
        cursor = self.orders.find(query).sort(
            [("created_at", DESCENDING), ("_id", DESCENDING)]).limit(size)
        return [from_document(doc) async for doc in cursor]

    async def pending_since_before(self, cutoff: datetime, limit: int) -> list[str]:
        """Ids of PENDING orders placed before ``cutoff``, oldest first."""
        cursor = self.orders.find(
            {"status": Status.PENDING.value, "created_at": {"$lt": cutoff}}, {"_id": 1},
        ).sort("created_at", ASCENDING).limit(limit)
        return [doc["_id"] async for doc in cursor]

    async def count_pending_before(self, cutoff: datetime) -> int:
        """How many orders are PENDING since before ``cutoff`` (the ``status_age`` index)."""
        return await self.orders.count_documents(
            {"status": Status.PENDING.value, "created_at": {"$lt": cutoff}})

    async def refunds_due(self, limit: int) -> list[str]:
        cursor = self.orders.find({"refund_due": True}, {"_id": 1}).limit(limit)
        return [doc["_id"] async for doc in cursor]

    async def refund_done(self, order_id: str) -> None:
        await self.orders.update_one({"_id": order_id}, {"$unset": {"refund_due": ""}})


def _line_document(line: OrderLine) -> Document:
    return {"book_id": line.book_id, "title": line.title, "quantity": line.quantity,
            "unit_price_cents": line.unit_price_cents,
            "rejection_reason": line.rejection_reason}


def to_document(order: Order) -> Document:
    doc: Document = {
        "_id": order.id, "user_id": order.user_id, "status": order.status.value,
        "lines": [_line_document(line) for line in order.lines],
        "total_cents": order.total_cents, "reason": order.reason,
        "payment_reference": order.payment_reference, "payment_token": order.payment_token,
        "history": [{"status": h.status.value, "at": h.at, "reason": h.reason}
                    for h in order.history],
        "created_at": order.created_at, "updated_at": order.updated_at,
    }
    if order.idempotency_key is not None:
        doc["idempotency_key"] = order.idempotency_key
        doc["request_fingerprint"] = order.request_fingerprint
    return doc


def from_document(doc: Document) -> Order:
    return Order(
        id=doc["_id"], user_id=doc["user_id"], status=Status(doc["status"]),
        lines=tuple(OrderLine(book_id=line["book_id"], title=line["title"],
                              quantity=line["quantity"],
                              unit_price_cents=line["unit_price_cents"],
                              rejection_reason=line.get("rejection_reason", ""))
                    for line in doc["lines"]),
        total_cents=doc["total_cents"], reason=doc.get("reason", ""),
        payment_reference=doc.get("payment_reference", ""),
        payment_token=doc.get("payment_token", ""),
        idempotency_key=doc.get("idempotency_key"),
        request_fingerprint=doc.get("request_fingerprint", ""),
        # Saga steps (``step`` set) sit in the history too, but are no status changes.
        history=tuple(StatusChange(Status(h["status"]), h["at"], h.get("reason", ""))
                      for h in doc.get("history", ()) if "step" not in h),
        created_at=doc["created_at"], updated_at=doc["updated_at"],
    )
