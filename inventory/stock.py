"""Stock movements for the order saga: reserve, sell and release copies, all or none.

Counters change only through conditional atomic updates (``available >= q`` in the filter),
so concurrent orders can never oversell, and always in the caller's unit of work together
with the reservation document and the events that report the outcome. Before touching a
book's counters a unit of work takes its turn on those books (``UnitOfWork.take_turns``):
popular books would otherwise set concurrent transactions aborting and retrying each other.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from inventory.reservations import (
    CancelResult,
    FailedLine,
    Line,
    Outcome,
    Reason,
    Rejected,
    Reserved,
    State,
    invalid_lines,
    lines_from_documents,
    lines_to_documents,
    merge_lines,
)
from inventory.store import BOOKS, object_id, utc_now
from runtime.mongo import Document
from saga import UnitOfWork

log = logging.getLogger(__name__)

RESERVATIONS = "reservations"


class StockCorruptedError(Exception):
    """Counters disagree with a reservation; moving stock now would break the invariant."""


class StockLedger:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._books: AsyncCollection[Document] = db[BOOKS]
        self._reservations: AsyncCollection[Document] = db[RESERVATIONS]

    async def reserve(
        self, order_id: str, lines: Sequence[Line], uow: UnitOfWork
    ) -> Outcome | None:
        """Hold every line or none; ``None`` when this order was already answered."""
        merged = merge_lines(lines)
        session = uow.session
        await uow.take_turns(line.book_id for line in merged)
        # Claim the order first: an upsert that inserts only if no document exists, so one
        # round trip both checks for an earlier answer (or a tombstone) and records this one.
        claim = await self._reservations.update_one(
            {"_id": order_id},
            {"$setOnInsert": {"state": State.HELD, "lines": lines_to_documents(merged),
                              "updated_at": utc_now()}},
            upsert=True, session=session)
        if claim.upserted_id is None:
            existing = await self._reservations.find_one({"_id": order_id}, session=session)
            if existing is None:  # the upsert matched it in this very transaction
                return None
            return await self._answer_again(order_id, existing, merged, session)
        failed = list(invalid_lines(merged)) or (
            [] if merged else [FailedLine("", 0, 0, Reason.INVALID_QUANTITY)])
        if not failed:
            failed = await self._hold(merged, session)
        if failed:
            await self._reservations.update_one(
                {"_id": order_id, "state": State.HELD},
                {"$set": {"state": State.REJECTED, "updated_at": utc_now()}}, session=session)
            return Rejected(order_id, tuple(failed))
        return Reserved(order_id, merged)

    async def confirm(self, order_id: str, uow: UnitOfWork) -> bool:
        """Turn held copies into sold ones; ``False`` if nothing was held for the order."""
        lines = await self._leave(order_id, State.HELD, State.SOLD, uow)
        for line in lines or ():
            await self._move(line, uow.session, take="reserved", give="sold")
        return lines is not None

    async def cancel(self, order_id: str, uow: UnitOfWork) -> CancelResult:
        """Compensate a cancelled order: put its copies back on sale, whether still held or
        already sold (a confirmed order may be cancelled until it ships); with nothing seen yet,
        leave a tombstone so a late OrderPlaced holds nothing."""
        session = uow.session
        existing = await self._reservations.find_one({"_id": order_id}, session=session)
        if existing is None:
            await self._reservations.insert_one(
                {"_id": order_id, "state": State.CANCELLED, "lines": [], "updated_at": utc_now()},
                session=session)
            return CancelResult.TOMBSTONED
        if existing["state"] == State.SOLD:
            lines = await self._leave(order_id, State.SOLD, State.RETURNED, uow)
            for line in lines or ():
                await self._move(line, session, take="sold", give="available")
            return CancelResult.IGNORED if lines is None else CancelResult.RESTOCKED
        lines = await self._leave(order_id, State.HELD, State.RELEASED, uow)
        for line in lines or ():
            await self._move(line, session, take="reserved", give="available")
        return CancelResult.IGNORED if lines is None else CancelResult.RELEASED

    async def _hold(self, lines: Sequence[Line], session: AsyncClientSession) -> list[FailedLine]:
        """Take every line; on any failure give back what was taken and report each failure."""
        taken: list[Line] = []
        failed: list[FailedLine] = []
        for line in lines:
            oid = object_id(line.book_id)
            result = None if oid is None else await self._books.update_one(
                {"_id": oid, "available": {"$gte": line.quantity}},
                {"$inc": {"available": -line.quantity, "reserved": line.quantity},
                 "$set": {"updated_at": utc_now()}}, session=session)
            if result is not None and result.matched_count == 1:
                taken.append(line)
                continue
            doc = None if oid is None else await self._books.find_one(
                {"_id": oid}, {"available": 1}, session=session)
            failed.append(FailedLine(
                line.book_id, line.quantity, 0 if doc is None else int(doc["available"]),
                Reason.UNKNOWN_BOOK if doc is None else Reason.INSUFFICIENT_STOCK))
        if failed:
            for line in taken:
                await self._move(line, session, take="reserved", give="available")
        return failed

    async def _leave(
        self, order_id: str, source: State, target: State, uow: UnitOfWork
    ) -> tuple[Line, ...] | None:
        """Move the reservation from ``source`` to ``target``, taking turns on its books; its
        lines, or ``None`` if it was not in ``source`` (duplicates change nothing)."""
        session = uow.session
        doc = await self._reservations.find_one(
            {"_id": order_id, "state": source}, session=session)
        if doc is None:
            return None
        lines = lines_from_documents(doc["lines"])
        await uow.take_turns(line.book_id for line in lines)
        result = await self._reservations.update_one(
            {"_id": order_id, "state": source},
            {"$set": {"state": target, "updated_at": utc_now()}}, session=session)
        if result.matched_count == 0:  # another handler moved it first
            return None
        return lines

    async def _move(
        self, line: Line, session: AsyncClientSession, *, take: str, give: str
    ) -> None:
        result = await self._books.update_one(
            {"_id": object_id(line.book_id), take: {"$gte": line.quantity}},
            {"$inc": {take: -line.quantity, give: line.quantity},
             "$set": {"updated_at": utc_now()}}, session=session)
        if result.matched_count == 0:
            raise StockCorruptedError(
                f"book {line.book_id}: fewer than {line.quantity} copies {take} to move to {give}")

    async def _answer_again(
        self, order_id: str, existing: Document, lines: Sequence[Line],
        session: AsyncClientSession,
    ) -> Outcome | None:
        """An OrderPlaced for an order already seen: answer a cancellation once, else nothing."""
        if existing["state"] != State.CANCELLED or existing.get("answered"):
            log.info("order already answered", extra={"order_id": order_id,
                                                      "state": existing["state"]})
            return None
        result = await self._reservations.update_one(
            {"_id": order_id, "state": State.CANCELLED, "answered": {"$ne": True}},
            {"$set": {"answered": True, "updated_at": utc_now()}}, session=session)
        if result.matched_count == 0:
            return None
        return Rejected(order_id, tuple(
            FailedLine(line.book_id, line.quantity, 0, Reason.ORDER_CANCELLED)
            for line in merge_lines(lines)))
