"""Reservations and stock counters in MongoDB: the writes :mod:`inventory.stock` is made of.

Every method runs in the caller's session (its unit of work's transaction). Counters change
only through conditional atomic updates (``available >= q`` in the filter), so concurrent
orders can never oversell; a reservation moves between states only from the state named.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from inventory.reservations import Line, State, lines_from_documents, lines_to_documents
from inventory.store import BOOKS, object_id, utc_now
from runtime.mongo import Document

RESERVATIONS = "reservations"


@dataclass(frozen=True, slots=True)
class Reservation:
    """What inventory holds for one order: its state, its lines, whether a late OrderPlaced
    after a cancellation was answered."""

    state: State
    lines: tuple[Line, ...]
    answered: bool


def _reservation(doc: Document) -> Reservation:
    return Reservation(State(doc["state"]), lines_from_documents(doc["lines"]),
                       bool(doc.get("answered")))


class StockStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._books: AsyncCollection[Document] = db[BOOKS]
        self._reservations: AsyncCollection[Document] = db[RESERVATIONS]

    async def ensure_indexes(self) -> None:
        """The hold sweep's query: held reservations, oldest first (a reservation's
        ``updated_at`` is when it entered its state)."""
        await self._reservations.create_indexes([
            IndexModel([("state", ASCENDING), ("updated_at", ASCENDING)], name="state_age")])

    async def held_before(self, cutoff: datetime, limit: int) -> list[str]:
        """Order ids of reservations held since before ``cutoff``, oldest first."""
        cursor = self._reservations.find(
            {"state": State.HELD, "updated_at": {"$lt": cutoff}}, {"_id": 1},
        ).sort("updated_at", ASCENDING).limit(limit)
        return [str(doc["_id"]) async for doc in cursor]

    async def claim(self, order_id: str, lines: tuple[Line, ...],
                    session: AsyncClientSession, *, user_id: str = "") -> bool:
        """Record a HELD reservation unless the order has one (or a tombstone): an upsert that
        inserts only if no document exists, so one round trip both checks and records.
        ``True`` if this call recorded it. ``user_id``, the order's owner, may read its
        timeline here; ``history`` keeps every state with its time."""
        now = utc_now()
        claim = await self._reservations.update_one(
            {"_id": order_id},
            {"$setOnInsert": {"state": State.HELD, "lines": lines_to_documents(lines),
                              "updated_at": now, "user_id": user_id,
                              "history": [{"state": State.HELD, "at": now}]}},
            upsert=True, session=session)
        return claim.upserted_id is not None

    async def reservation(self, order_id: str, session: AsyncClientSession | None, *,
                          state: State | None = None) -> Reservation | None:
        """The order's reservation (only if in ``state``, when given); with no ``session``,
        as committed now, outside any transaction."""
        query: Document = {"_id": order_id}
        if state is not None:
            query["state"] = state
        doc = await self._reservations.find_one(query, session=session)
        return None if doc is None else _reservation(doc)

    async def move_reservation(self, order_id: str, source: State, target: State,
                               session: AsyncClientSession) -> bool:
        """``source`` → ``target``; ``False`` if the reservation was not in ``source``."""
        now = utc_now()
        result = await self._reservations.update_one(
            {"_id": order_id, "state": source},
            {"$set": {"state": target, "updated_at": now},
             "$push": {"history": {"state": target, "at": now}}}, session=session)
        return result.matched_count == 1

    async def tombstone(self, order_id: str, session: AsyncClientSession) -> None:
        """A CANCELLED reservation with no lines, so a late OrderPlaced holds nothing."""
        now = utc_now()
        await self._reservations.insert_one(
            {"_id": order_id, "state": State.CANCELLED, "lines": [], "updated_at": now,
             "history": [{"state": State.CANCELLED, "at": now}]}, session=session)

    async def mark_answered(self, order_id: str, session: AsyncClientSession, *,
                            user_id: str = "") -> bool:
        """Note that a cancelled order's late OrderPlaced was answered, and whose order it is
        (the tombstone could not know); ``False`` if it was answered already."""
        result = await self._reservations.update_one(
            {"_id": order_id, "state": State.CANCELLED, "answered": {"$ne": True}},
            {"$set": {"answered": True, "updated_at": utc_now(), "user_id": user_id}},
            session=session)
        return result.matched_count == 1

    async def timeline_of(self, order_id: str) -> Document | None:
        """The reservation's owner, state and dated states, for the order's timeline."""
        return await self._reservations.find_one(
            {"_id": order_id}, {"user_id": 1, "state": 1, "updated_at": 1, "history": 1})

    async def hold(self, line: Line, session: AsyncClientSession) -> bool:
        """Move ``line.quantity`` copies from available to reserved, if that many are there."""
        oid = object_id(line.book_id)
        if oid is None:
            return False
        result = await self._books.update_one(
            {"_id": oid, "available": {"$gte": line.quantity}},
            {"$inc": {"available": -line.quantity, "reserved": line.quantity},
             "$set": {"updated_at": utc_now()}}, session=session)
        return result.matched_count == 1

    async def available(self, book_id: str, session: AsyncClientSession) -> int | None:
        """Copies on sale now, or ``None`` if there is no such book."""
        oid = object_id(book_id)
        doc = None if oid is None else await self._books.find_one(
            {"_id": oid}, {"available": 1}, session=session)
        return None if doc is None else int(doc["available"])

    async def move(self, line: Line, session: AsyncClientSession, *, take: str,
                   give: str) -> bool:
        """Move the line's copies from counter ``take`` to ``give``; ``False`` if fewer than
        that many are counted in ``take``."""
        result = await self._books.update_one(
            {"_id": object_id(line.book_id), take: {"$gte": line.quantity}},
            {"$inc": {take: -line.quantity, give: line.quantity},
             "$set": {"updated_at": utc_now()}}, session=session)
        return result.matched_count == 1
