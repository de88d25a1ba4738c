"""Book details from memory, kept fresh by a change stream of the books collection.

``GetBookDetails`` and ``CheckAvailability`` are the catalogue's hottest reads (the order
service prices every new order through the first). Serving them from memory takes a
database round trip, and most of the service's CPU per call, off each one.

A book is remembered only while the change stream is open, and every change to a book (from
this instance, another instance, or a saga step moving stock) reaches it: an update's new
field values are applied to the remembered book (stock moves all the time; re-reading the
book after each would make the cache miss most when it is busiest), anything else forgets
it. So a read is at most one change-stream delivery behind the database: while stock moves
all the time, the stream's round trips start ``pace`` seconds apart (``runtime.change_feed``;
0.1 s, so a busy database is not asked once per stock move), and otherwise milliseconds. A
read that raced a change is not remembered: each change bumps an epoch, and a result fetched
across a bump is returned but not kept. If the stream fails, everything is forgotten and
reads go to the database until it is open again. Reservations never rely on these figures:
stock moves only through the conditional updates in :mod:`inventory.stock`.

Pages of ``ListBooks`` and ``SearchBooks`` are remembered too, as the ids they hold: a page is
served from the remembered books while nothing has changed that could move a book onto or off
it. Stock moves cannot (no sort or filter but ``in_stock_only`` looks at the counters, and such
pages are never remembered), so under a stream of orders the pages stay while their books'
figures follow the stream; any other change (a book added, edited or removed, the stream
restarting) forgets every page.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from types import TracebackType

from pymongo.errors import PyMongoError

from inventory.model import Book, BookQuery, Cursor, Page
from inventory.store import BookStore, object_id, updated_book
from runtime.change_feed import paced
from runtime.mongo import Document

log = logging.getLogger(__name__)

FEED_PACE_SECONDS = 0.1
# What an update may set without moving a book between pages.
_STOCK_FIELDS = frozenset({"available", "reserved", "sold", "updated_at"})


class BookCache:
    """Reads books through a bounded in-memory map that the change stream keeps honest."""

    def __init__(self, store: BookStore, *, capacity: int = 10_000,
                 retry_interval: float = 1.0, pace: float = FEED_PACE_SECONDS) -> None:
        self._store = store
        self._pace = pace
        self._capacity = capacity
        self._retry_interval = retry_interval
        self._books: OrderedDict[str, Book] = OrderedDict()
        self._pages: OrderedDict[BookQuery, tuple[tuple[str, ...], Cursor | None]] = (
            OrderedDict())
        self._epoch = 0
        self._layout = 0  # bumped by every change that may move a book between pages
        self._live = asyncio.Event()  # set while the change stream is open
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> BookCache:
        self._task = asyncio.create_task(self._follow(), name="book-cache-stream")
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
        """Whether books are being remembered (the change stream is open)."""
        return self._live.is_set()

    async def wait_live(self) -> None:
        await self._live.wait()

    async def get(self, book_id: str) -> Book:
        """The book, from memory when known; raises NotFound like :meth:`BookStore.get`."""
        oid = object_id(book_id)
        key = None if oid is None else str(oid)
        if key is not None and self.live and (book := self._books.get(key)) is not None:
            self._books.move_to_end(key)
            return book
        epoch = self._epoch
        book = await self._store.get(book_id)
        if key is not None and self.live and epoch == self._epoch:
            self._remember(key, book)
        return book

    async def page(self, query: BookQuery) -> Page:
        """A page of books like :meth:`BookStore.page`, from memory when it is known and
        every book on it is."""
        cacheable = self.live and not query.filter.in_stock_only
        if cacheable and (known := self._pages.get(query)) is not None:
            ids, next_cursor = known
            books = [book for book_id in ids if (book := self._books.get(book_id)) is not None]
            if len(books) == len(ids):
                self._pages.move_to_end(query)
                return Page(books, next_cursor)
        epoch, layout = self._epoch, self._layout
        page = await self._store.page(query)
        if cacheable and self.live and layout == self._layout:
            self._pages[query] = (tuple(book.id for book in page.books), page.next_cursor)
            if len(self._pages) > self._capacity:
                self._pages.popitem(last=False)
            if epoch == self._epoch:
                for book in page.books:
                    self._remember(book.id, book)
        return page

    def forget(self, book_id: str) -> None:
        """Drop what is known of the book, and keep no read that was under way."""
        self._epoch += 1
        self._relayout()
        self._books.pop(book_id, None)

    def _relayout(self) -> None:
        """Something may have moved a book between pages: forget every page."""
        self._layout += 1
        self._pages.clear()

    def _remember(self, key: str, book: Book) -> None:
        self._books[key] = book
        if len(self._books) > self._capacity:
            self._books.popitem(last=False)

    def _hear(self, change: Document) -> None:
        key = change.get("documentKey", {}).get("_id")
        if key is None:  # the collection was dropped or renamed
            self._forget_all()
            return
        self._epoch += 1
        if not _moves_stock_only(change):
            self._relayout()
        known = self._books.get(str(key))
        updated = None if known is None else updated_book(known, change)
        if updated is None:
            self._books.pop(str(key), None)
        else:
            self._books[str(key)] = updated

    def _forget_all(self) -> None:
        self._epoch += 1
        self._relayout()
        self._books.clear()

    async def _follow(self) -> None:
        while True:
            try:
                async with await self._store.changes() as stream:
                    self._live.set()
                    async for change in paced(stream, self._pace):
                        if change is not None:
                            self._hear(change)
            except PyMongoError as exc:
                log.warning("book change stream failed; reading books from the database",
                            extra={"error": str(exc)})
            finally:
                self._live.clear()
                self._forget_all()
            await asyncio.sleep(self._retry_interval)


def _moves_stock_only(change: Document) -> bool:
    """Whether a change-stream event only moves stock counters (a reservation, a sale)."""
    if change.get("operationType") != "update":
        return False
    description = change.get("updateDescription") or {}
    return (not description.get("removedFields")
            and set(description.get("updatedFields") or {}) <= _STOCK_FIELDS)
