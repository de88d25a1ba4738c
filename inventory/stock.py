"""Stock movements for the order saga: reserve, sell and release copies, all or none.

Counters change only through the conditional atomic updates of :mod:`inventory.stock_store`
(the MongoDB side), so concurrent orders can never oversell, and always in the caller's unit
of work together with the reservation document and the events that report the outcome.
Before touching a book's counters a unit of work takes its turn on those books
(``UnitOfWork.take_turns``): popular books would otherwise set concurrent transactions
aborting and retrying each other.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

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
    merge_lines,
)
from inventory.stock_store import Reservation, StockStore
from saga import UnitOfWork

log = logging.getLogger(__name__)


SHORT_BOOKS_REMEMBERED = 1000


class StockCorruptedError(Exception):
    """Counters disagree with a reservation; moving stock now would break the invariant."""


class StockLedger:
    def __init__(self, store: StockStore) -> None:
        self._store = store
        # Copies left when a hold last failed, per book (forgotten when a hold succeeds).
        # An order asking more than that does not wait for its turn on the books: its hold
        # fails on its own conditional update, so the sale of the last copies does not make
        # every later order for them queue to be refused. Only a hint: the conditional
        # updates decide, and a stale figure costs at most a retried transaction.
        self._short: dict[str, int] = {}

    async def reserve(
        self, order_id: str, lines: Sequence[Line], uow: UnitOfWork, *, user_id: str = ""
    ) -> Outcome | None:
        """Hold every line or none; ``None`` when this order was already answered.
        ``user_id`` (the order's owner) is kept with the reservation."""
        merged = merge_lines(lines)
        if not any(self._short.get(line.book_id, line.quantity) < line.quantity
                   for line in merged):
            await uow.take_turns(line.book_id for line in merged)
        # Claim the order first: it both checks for an earlier answer (or a tombstone) and
        # records this one.
        if not await self._store.claim(order_id, tuple(merged), uow.session, user_id=user_id):
            existing = await self._store.reservation(order_id, uow.session)
            if existing is None:  # the upsert matched it in this very transaction
                return None
            return await self._answer_again(order_id, existing, merged, uow, user_id)
        failed = list(invalid_lines(merged)) or (
            [] if merged else [FailedLine("", 0, 0, Reason.INVALID_QUANTITY)])
        if not failed:
            failed = await self._hold(merged, uow)
        if failed:
            await self._store.move_reservation(order_id, State.HELD, State.REJECTED, uow.session)
            return Rejected(order_id, tuple(failed))
        return Reserved(order_id, merged)

    async def confirm(self, order_id: str, uow: UnitOfWork) -> bool:
        """Turn held copies into sold ones; ``False`` if nothing was held for the order."""
        lines = await self._leave(order_id, State.HELD, State.SOLD, uow)
        for line in lines or ():
            await self._move(line, uow, take="reserved", give="sold")
        return lines is not None

    async def cancel(self, order_id: str, uow: UnitOfWork) -> CancelResult:
        """Compensate a cancelled order: put its copies back on sale, whether still held or
        already sold (a confirmed order may be cancelled until it ships); with nothing seen yet,
        leave a tombstone so a late OrderPlaced holds nothing."""
        existing = await self._store.reservation(order_id, uow.session)
        if existing is None:
            await self._store.tombstone(order_id, uow.session)
            return CancelResult.TOMBSTONED
        if existing.state == State.SOLD:
            lines = await self._leave(order_id, State.SOLD, State.RETURNED, uow)
            for line in lines or ():
                await self._move(line, uow, take="sold", give="available")
            return CancelResult.IGNORED if lines is None else CancelResult.RESTOCKED
        lines = await self._leave(order_id, State.HELD, State.RELEASED, uow)
        for line in lines or ():
            await self._move(line, uow, take="reserved", give="available")
        return CancelResult.IGNORED if lines is None else CancelResult.RELEASED

    async def expire(self, order_id: str, uow: UnitOfWork) -> tuple[Line, ...] | None:
        """Put a hold that outlived the hold timeout back on sale; its lines, or ``None`` if
        it is no longer held (sold, released, or expired by another instance meanwhile)."""
        lines = await self._leave(order_id, State.HELD, State.EXPIRED, uow)
        for line in lines or ():
            await self._move(line, uow, take="reserved", give="available")
        return lines

    async def state(self, order_id: str, uow: UnitOfWork) -> State | None:
        """Where the order's reservation is now, if it has one."""
        existing = await self._store.reservation(order_id, uow.session)
        return None if existing is None else existing.state

    async def _hold(self, lines: Sequence[Line], uow: UnitOfWork) -> list[FailedLine]:
        """Take every line; on any failure give back what was taken and report each failure."""
        taken: list[Line] = []
        failed: list[FailedLine] = []
        for line in lines:
            if await self._store.hold(line, uow.session):
                taken.append(line)
                self._short.pop(line.book_id, None)
                continue
            available = await self._store.available(line.book_id, uow.session)
            if available is not None:
                self._note_short(line.book_id, available)
            failed.append(FailedLine(
                line.book_id, line.quantity, available or 0,
                Reason.UNKNOWN_BOOK if available is None else Reason.INSUFFICIENT_STOCK))
        if failed:
            for line in taken:
                await self._move(line, uow, take="reserved", give="available")
        return failed

    def _note_short(self, book_id: str, available: int) -> None:
        self._short.pop(book_id, None)
        self._short[book_id] = available
        if len(self._short) > SHORT_BOOKS_REMEMBERED:
            del self._short[next(iter(self._short))]

    async def _leave(
        self, order_id: str, source: State, target: State, uow: UnitOfWork
    ) -> tuple[Line, ...] | None:
        """Move the reservation from ``source`` to ``target``, taking turns on its books; its
        lines, or ``None`` if it was not in ``source`` (duplicates change nothing).

        Its lines are read outside the transaction (they never change once held), so the
        turn is taken before the transaction's first statement: its snapshot then starts after
        the previous holder committed, and the stock moves do not conflict with that holder's.
        The conditional move checks the state inside it."""
        reservation = await self._store.reservation(order_id, None, state=source)
        if reservation is None:
            return None
        await uow.take_turns(line.book_id for line in reservation.lines)
        if not await self._store.move_reservation(order_id, source, target, uow.session):
            return None  # another handler moved it first
        return reservation.lines

    async def _move(self, line: Line, uow: UnitOfWork, *, take: str, give: str) -> None:
        if not await self._store.move(line, uow.session, take=take, give=give):
            raise StockCorruptedError(
                f"book {line.book_id}: fewer than {line.quantity} copies {take} to move to {give}")

    async def _answer_again(
        self, order_id: str, existing: Reservation, lines: Sequence[Line], uow: UnitOfWork,
        user_id: str,
    ) -> Outcome | None:
        """An OrderPlaced for an order already seen: answer a cancellation once, else nothing."""
        if existing.state != State.CANCELLED or existing.answered:
            log.info("order already answered", extra={"order_id": order_id,
                                                      "state": existing.state})
            return None
        if not await self._store.mark_answered(order_id, uow.session, user_id=user_id):
            return None
        return Rejected(order_id, tuple(
            FailedLine(line.book_id, line.quantity, 0, Reason.ORDER_CANCELLED)
            for line in merge_lines(lines)))
