"""Pricing from memory: the catalogue read model remembered while a change stream watches it.

Every ``PlaceOrder`` prices its lines from the read model (:mod:`orders.catalogue`); books
change rarely (an admin's edit), orders come all the time, so the entries read are kept in
memory and each order is priced without a round trip. A change to an entry written by this
process makes the memory forget that book once it commits
(:meth:`CatalogueStore.on_changed`); one written by another instance reaches it through one
change stream of the ``catalogue`` collection. Either way the next order reads it again. An entry is
remembered only while the stream is open, and a read that raced a change is not kept (each
change bumps an epoch), so a price is at most one change-stream delivery behind the read model,
its round trips a second apart (``runtime.change_feed``: prices change rarely, and reach the
read model through the broker anyway). If the stream fails, everything is
forgotten and every order reads the read model until it is open again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from types import TracebackType

from pymongo.errors import PyMongoError

from orders.catalogue import Catalog
from orders.catalogue_store import CatalogueStore
from orders.pricing import BookInfo
from runtime.change_feed import paced

log = logging.getLogger(__name__)

FEED_PACE_SECONDS = 1.0


class CatalogueCache:
    """A :class:`Catalog` that remembers what ``catalog`` answered while ``store``'s change
    stream is open."""

    def __init__(self, catalog: Catalog, store: CatalogueStore, *, capacity: int = 100_000,
                 retry_interval: float = 1.0, pace: float = FEED_PACE_SECONDS) -> None:
        self._catalog = catalog
        self._store = store
        self._capacity = capacity
        self._retry_interval = retry_interval
        self._pace = pace
        self._books: dict[str, BookInfo] = {}
        self._epoch = 0
        self._live = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> CatalogueCache:
        self._store.on_changed(self.forget)
        self._task = asyncio.create_task(self._follow(), name="catalogue-cache-stream")
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @property
    def live(self) -> bool:
        return self._live.is_set()

    async def books(self, book_ids: Iterable[str]) -> dict[str, BookInfo]:
        wanted = list(book_ids)
        if self.live:
            known = {book_id: book for book_id in wanted
                     if (book := self._books.get(book_id)) is not None}
            if len(known) == len(set(wanted)):
                return known
        epoch = self._epoch
        found = await self._catalog.books(wanted)
        if self.live and epoch == self._epoch:
            if len(self._books) + len(found) > self._capacity:
                self._books.clear()
            self._books.update(found)
        return found

    def forget(self, book_id: str | None) -> None:
        """The entry (``None``: every entry) changed: read it again next time."""
        self._forget(book_id)

    def _forget(self, book_id: str | None) -> None:
        self._epoch += 1
        if book_id is None:
            self._books.clear()
        else:
            self._books.pop(book_id, None)

    async def _follow(self) -> None:
        while True:
            try:
                async with self._store.changes() as stream:
                    self._live.set()
                    async for change in paced(stream, self._pace):
                        if change is not None:
                            key = (change.get("documentKey") or {}).get("_id")
                            self._forget(None if key is None else str(key))
            except PyMongoError as exc:
                log.warning("catalogue change stream failed; pricing from the read model",
                            extra={"error": str(exc)})
            finally:
                self._live.clear()
                self._forget(None)
            await asyncio.sleep(self._retry_interval)
