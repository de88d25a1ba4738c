"""Following one order as it changes: what ``WatchOrder`` streams.

The stream opens a MongoDB change stream on the order *before* reading it, so no change can
fall between the first read and the first event. Every state is sent once (an order's version
is the length of its history) and the stream ends after a final state: REJECTED, CANCELLED or
COMPLETED. CONFIRMED is where the saga ends, but the order can still ship or be cancelled, so
a watcher that wants only the saga's outcome stops reading once it sees CONFIRMED.

Whenever the change stream is quiet for ``quiet_interval`` seconds the order is read again
(cheap insurance against a missed event), and if the stream fails (a server without change
streams, a failover) the watch carries on by reading every ``poll_interval`` seconds: slower,
never stuck. A client that hangs up cancels the call, which closes the change stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator

from pymongo.errors import PyMongoError

from orders.lifecycle import FINAL
from orders.model import Order
from orders.store import OrderStore, from_document

log = logging.getLogger(__name__)


class OrderWatcher:
    def __init__(self, store: OrderStore, *, quiet_interval: float = 5.0,
                 poll_interval: float = 1.0) -> None:
        self._store = store
        self._quiet_ms = int(quiet_interval * 1000)
        self._poll_interval = poll_interval

    async def follow(self, order_id: str) -> AsyncIterator[Order]:
        """Yield the order now and after every change, ending after a final state."""
        sent = -1
        async with contextlib.aclosing(self._states(order_id)) as states:
            async for order in states:
                if order.version <= sent:
                    continue
                sent = order.version
                yield order
                if order.status in FINAL:
                    return

    async def _states(self, order_id: str) -> AsyncGenerator[Order, None]:
        try:
            async with await self._store.changes(
                    order_id, max_await_ms=self._quiet_ms) as stream:
                while True:
                    order = await self._store.get(order_id)
                    if order is None:
                        return
                    yield order
                    while (change := await stream.try_next()) is not None:
                        if (document := change.get("fullDocument")) is not None:
                            yield from_document(document)
        except PyMongoError as exc:
            log.warning("change stream failed; reading the order periodically instead",
                        extra={"order_id": order_id, "error": str(exc)})
        while (order := await self._store.get(order_id)) is not None:
            yield order
            await asyncio.sleep(self._poll_interval)
