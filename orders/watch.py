"""Following orders as they change: what ``WatchOrder`` streams.

An order moved by this process is announced to its watches as soon as the move commits
(:meth:`OrderStore.on_moved`, wired to :meth:`OrderWatcher.heard`), with the order as moved
when the mover knew it (the saga's settlements do): no database work at all.
Moves made by other instances arrive through one MongoDB change stream per process, which
serves every watch (:meth:`OrderStore.updated_ids`) and carries only status changes, its round
trips spaced (``runtime.change_feed``) so a busy database is not asked once per write.
Each stream the server keeps open costs it work on *every* write (the stream's cursor wakes
and scans the new entries), so a stream per watch made the database's cost grow with watches
times writes; one shared stream keeps it flat. The shared stream carries only the ids of
updated orders: a watch that hears its id reads the order itself, so orders nobody watches
cost no reads.

A watch registers *before* making sure the stream is open and only then reads the order, so
no change can fall between the first read and the first notification. Every state is sent once
(an order's version is the length of its history) and the watch ends after a final state:
REJECTED, CANCELLED or COMPLETED. CONFIRMED is where the saga ends, but the order can still
ship or be cancelled, so a watcher that wants only the saga's outcome stops once it sees
CONFIRMED.

A watch that hears nothing for ``quiet_interval`` seconds reads the order again (cheap
insurance). If the stream fails (a server without change streams, a failover), every watch
carries on by reading every ``poll_interval`` seconds, slower but never stuck, and the next
watch to start tries the stream again. The stream closes once no one has watched for
``linger`` seconds. A client that hangs up cancels its call, which ends its watch.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import AsyncGenerator

from orders.lifecycle import FINAL, Status
from orders.model import Order
from orders.store import ChangeFeedError, OrderStore

log = logging.getLogger(__name__)


class OrderWatcher:
    def __init__(self, store: OrderStore, *, quiet_interval: float = 5.0,
                 poll_interval: float = 1.0, linger: float = 60.0) -> None:
        self._store = store
        self._quiet_interval = quiet_interval
        self._poll_interval = poll_interval
        self._linger = linger
        self._watching: dict[str, set[_Watch]] = {}
        self._feed: asyncio.Task[None] | None = None
        self._open: asyncio.Future[bool] | None = None  # True once the stream is open
        self._quiet_since: float | None = None  # when the last watch ended

    async def follow(self, order_id: str) -> AsyncGenerator[Order, None]:
        """Yield the order now and after every change, ending after a final state."""
        watch = _Watch()
        watchers = self._watching.setdefault(order_id, set())
        watchers.add(watch)
        self._quiet_since = None
        try:
            await self._stream_open()
            sent = -1
            while True:
                watch.changed.clear()  # before the read: a change during it means read again
                order, watch.handed = watch.handed, None
                if order is None:
                    order = await self._store.get(order_id)
                if order is None:
                    return
                watch.status = order.status
                if order.version > sent:
                    sent = order.version
                    yield order
                    if order.status in FINAL:
                        return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(watch.changed.wait(), self._wait_interval())
        finally:
            watchers.discard(watch)
            if not watchers:
                self._watching.pop(order_id, None)
            if not self._watching:
                self._quiet_since = asyncio.get_running_loop().time()

    def heard(self, order_id: str, order: Order | None = None) -> None:
        """This process moved the order: its watches take ``order`` (the order as moved) when
        given, else read it again, now."""
        for watch in self._watching.get(order_id, ()):
            if order is not None and (watch.handed is None
                                      or order.version > watch.handed.version):
                watch.handed = order
            watch.changed.set()

    @property
    def streaming(self) -> bool:
        """Whether the shared change stream is open (or opening) now."""
        return self._feed is not None and not self._feed.done()

    async def close(self) -> None:
        """Close the shared stream (at shutdown); watches still running fall back to reading."""
        if self._feed is not None:
            self._feed.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._feed
            self._feed = None

    def _wait_interval(self) -> float:
        live = self._open is not None and self._open.done() and self._open.result()
        return self._quiet_interval if live else self._poll_interval

    async def _stream_open(self) -> bool:
        """Start the shared stream unless it runs; ``True`` once it is open, ``False`` if not."""
        if self._feed is None or self._feed.done():
            self._open = asyncio.get_running_loop().create_future()
            # A fresh context: the stream serves every watch, so its database commands belong
            # to no one call's trace (not to the watch that happened to open it).
            self._feed = asyncio.create_task(self._run_feed(self._open), name="order-watch-feed",
                                             context=contextvars.Context())
        assert self._open is not None
        return await asyncio.shield(self._open)

    async def _run_feed(self, opened: asyncio.Future[bool]) -> None:
        max_await_ms = int(min(self._quiet_interval, self._linger) * 1000)
        try:
            async with self._store.updated_ids(max_await_ms=max_await_ms) as updated:
                opened.set_result(True)
                self._notify_all()  # anything between a poll and this moment: read again
                while not self._gone_quiet():
                    moved = await updated.next()
                    if moved is not None:
                        self._notify(*moved)
                # From here a new watch starts a new stream rather than count on this one.
                self._feed = self._open = None
        except ChangeFeedError as exc:
            log.warning("order change stream failed; watches read the order periodically",
                        extra={"error": str(exc), "watches": len(self._watching)})
            self._notify_all()  # they wait at the polling interval from now on
        finally:
            if not opened.done():
                opened.set_result(False)

    def _gone_quiet(self) -> bool:
        """True once no one has watched for ``linger`` seconds (checked between events)."""
        if self._watching or self._quiet_since is None:
            return False
        return asyncio.get_running_loop().time() - self._quiet_since >= self._linger

    def _notify(self, order_id: str, status: Status | None = None) -> None:
        """Wake the order's watches; with the ``status`` the change set, only those that have
        not read the order in it yet (a move this process announced was read already)."""
        for watch in self._watching.get(order_id, ()):
            if status is None or watch.status is not status:
                watch.handed = None  # another's change: read what the database holds
                watch.changed.set()

    def _notify_all(self) -> None:
        for watchers in self._watching.values():
            for watch in watchers:
                watch.changed.set()


class _Watch:
    """One watch: its wake-up, the status it last read, and the order as this process moved
    it, if handed over since (then it needs no read)."""

    __slots__ = ("changed", "handed", "status")

    def __init__(self) -> None:
        self.changed = asyncio.Event()
        self.status: Status | None = None
        self.handed: Order | None = None
