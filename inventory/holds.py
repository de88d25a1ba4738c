"""The hold sweeper: copies held for an order are never held forever.

A reservation stays HELD until orders confirms (sold) or cancels (released) the order. If
neither comes (orders lost the order in a restore, the message was forged, or orders' own
timeout sweep is down), after ``BOOKSTORE_HOLD_TIMEOUT_SECONDS`` the hold is released here:
in one transaction the reservation moves HELD → EXPIRED, its copies go back on sale, and
``StockRejected`` with every line ``HOLD_EXPIRED`` is emitted, so orders cancels (and
refunds) the order whatever state it reached. A late ``OrderConfirmed`` then sells nothing.

The hold timeout must be longer than orders' order timeout (``BOOKSTORE_ORDER_TIMEOUT_SECONDS``),
so that orders normally settles or cancels first and this sweep only catches what fell through.
Every release is conditional on HELD, so several inventory instances may sweep at once: one
moves a reservation, the others find it moved and change nothing.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from datetime import timedelta

from contracts.bookstore.events.v1 import events_pb2 as ev
from inventory.stock import StockLedger
from inventory.stock_store import StockStore
from inventory.store import utc_now
from runtime.metrics import HOLDS_RELEASED
from saga import Outbox, UnitOfWork

log = logging.getLogger(__name__)


class HoldSweeper:
    def __init__(self, store: StockStore, ledger: StockLedger, outbox: Outbox, *,
                 timeout: timedelta, interval: float, batch: int = 100) -> None:
        self._store = store
        self._ledger = ledger
        self._outbox = outbox
        self._timeout = timeout
        self._interval = interval
        self._batch = batch

    async def sweep_once(self) -> int:
        """Release every hold older than the timeout (a batch at most); how many it released."""
        released = 0
        for order_id in await self._store.held_before(utc_now() - self._timeout, self._batch):
            if await self._outbox.run(functools.partial(self._expire, order_id)):
                released += 1
                HOLDS_RELEASED.labels(reason="expired").inc()
                log.warning("hold expired and released", extra={"order_id": order_id})
        return released

    async def _expire(self, order_id: str, uow: UnitOfWork) -> bool:
        """One hold, in one transaction: released, reported, or left (no longer held)."""
        lines = await self._ledger.expire(order_id, uow)
        if lines is None:
            return False
        uow.emit(ev.StockRejected(order_id=order_id, lines=[
            ev.RejectedLine(book_id=line.book_id, requested=line.quantity, available=0,
                            reason=ev.REJECTION_REASON_HOLD_EXPIRED)
            for line in lines]))
        return True

    async def run(self) -> None:
        """Sweep every ``interval`` seconds until cancelled; a failed pass is logged, not fatal."""
        while True:
            try:
                await self.sweep_once()
            except Exception:  # the database may be away for a moment: try next time
                log.exception("hold sweep failed")
            await asyncio.sleep(self._interval)
