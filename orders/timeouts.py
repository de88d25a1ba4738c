"""The sweeper: cancels orders the saga left PENDING too long, and finishes owed refunds.

A PENDING order means inventory has not answered (it is down, or the message is stuck). After
``BOOKSTORE_ORDER_TIMEOUT_SECONDS`` the order is CANCELLED with ``OrderCancelled`` emitted, so
whatever inventory holds, or later reserves, is released; a reservation that still arrives is
released again by the StockReserved handler. The cancel is conditional on PENDING, so a sweep
racing a settlement changes nothing, and several replicas may sweep at once.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

from orders import metrics
from orders.commands import OrderCommands
from orders.model import utc_now
from orders.store import OrderStore

log = logging.getLogger(__name__)

TIMEOUT_REASON = "timed out waiting for stock"


@dataclass(frozen=True, slots=True)
class SweepResult:
    expired: int
    refunded: int


class Sweeper:
    def __init__(self, store: OrderStore, commands: OrderCommands, *, timeout: timedelta,
                 interval: float, batch: int = 100) -> None:
        self._store = store
        self._commands = commands
        self._timeout = timeout
        self._interval = interval
        self._batch = batch

    async def sweep_once(self) -> SweepResult:
        """One pass over what is due now; returns what it changed."""
        expired = 0
        cutoff = utc_now() - self._timeout
        for order_id in await self._store.pending_since_before(cutoff, self._batch):
            if await self._commands.expire(order_id, TIMEOUT_REASON):
                expired += 1
                log.info("order timed out", extra={"order_id": order_id})
        metrics.pending_overdue(await self._store.count_pending_before(cutoff))
        refunded = 0
        for order_id in await self._store.refunds_due(self._batch):
            await self._commands.refund(order_id)
            refunded += 1
        return SweepResult(expired, refunded)

    async def run(self) -> None:
        """Sweep every ``interval`` seconds until cancelled; a failed pass is logged, not fatal."""
        while True:
            try:
                await self.sweep_once()
            except Exception:  # the database may be away for a moment: try next time
                log.exception("order sweep failed")
            await asyncio.sleep(self._interval)
