"""The gRPC face of the catalogue: proto in, domain calls, proto out; admin checks for writes.

Reads need no token: browsing the catalogue is public. Book details and availability come
through the :class:`~inventory.cache.BookCache` when there is one: at most a change-stream
delivery (milliseconds) behind the database, and never behind this instance's UpdateBook.
Any book id that names no book,
including one that is not even well-formed, is NOT_FOUND: ids are opaque to callers, so a
malformed one is just another id that names nothing, and callers need only one case.
"""

from __future__ import annotations

import functools
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from contracts.bookstore.inventory.v1 import inventory_pb2 as pb
from contracts.bookstore.inventory.v1 import inventory_pb2_grpc as pb_grpc
from contracts.bookstore.timeline.v1 import timeline_pb2 as timeline_pb
from inventory import paging, validation
from inventory.cache import BookCache
from inventory.catalogue import CatalogueWrites
from inventory.model import (
    AdjustAvailable,
    Book,
    BookChanges,
    BookFilter,
    BookQuery,
    SetAvailable,
    Sort,
)
from inventory.stock_store import StockStore
from inventory.store import BookStore
from inventory.timeline import InventoryTimeline
from runtime.auth import TokenVerifier
from runtime.errors import InvalidArgument
from runtime.pagetokens import page_size
from runtime.server import ServiceBinding
from saga import Outbox
from saga.journal import Journal

Context = grpc.aio.ServicerContext[Any, Any]
SORTS = {
    pb.BOOK_SORT_UNSPECIFIED: Sort.TITLE, pb.BOOK_SORT_TITLE: Sort.TITLE,
    pb.BOOK_SORT_AUTHOR: Sort.AUTHOR, pb.BOOK_SORT_PRICE_ASC: Sort.PRICE_ASC,
    pb.BOOK_SORT_PRICE_DESC: Sort.PRICE_DESC, pb.BOOK_SORT_NEWEST: Sort.NEWEST,
}


class InventoryService(pb_grpc.InventoryServiceServicer):
    def __init__(self, store: BookStore, outbox: Outbox, verifier: TokenVerifier,
                 cache: BookCache | None = None) -> None:
        self._store = store
        self._writes = CatalogueWrites(store, outbox)
        self._verifier = verifier
        self._cache = cache
        self._reads: BookStore | BookCache = cache or store
        self._timeline = InventoryTimeline(StockStore(outbox.db), Journal(outbox.db))

    def binding(self) -> ServiceBinding:
        name = pb.DESCRIPTOR.services_by_name["InventoryService"].full_name
        return ServiceBinding(name, self, pb_grpc.add_InventoryServiceServicer_to_server)

    async def AddBook(self, request: pb.BookRequest, context: Context) -> pb.BookResponse:
        self._verifier.authenticate(context).require_admin()
        book = validation.new_book(
            title=request.title, author=request.author, isbn=request.isbn,
            price_cents=request.price_cents, stock_count=request.stock,
            description=request.description, year=request.published_year)
        added = await self._writes.add(book)
        if self._cache is not None:
            self._cache.forget(added.id)  # its pages: the book is on one now
        return pb.BookResponse(book=to_proto(added))

    async def UpdateBook(self, request: pb.BookUpdateRequest, context: Context) -> pb.BookResponse:
        self._verifier.authenticate(context).require_admin()
        changes = validation.book_changes(to_changes(request))
        book = await self._writes.update(request.book_id, changes)
        if self._cache is not None:
            self._cache.forget(book.id)
        return pb.BookResponse(book=to_proto(book))

    async def CheckAvailability(
        self, request: pb.BookIDRequest, context: Context
    ) -> pb.AvailabilityResponse:
        wanted = validation.quantity(request.quantity)
        book = await self._reads.get(request.book_id)
        return pb.AvailabilityResponse(
            book_id=book.id, in_stock=book.available > 0, available=book.available,
            can_fulfil=book.available >= wanted)

    async def GetBookDetails(self, request: pb.BookIDRequest, context: Context) -> pb.BookResponse:
        return book_response(await self._reads.get(request.book_id))

    async def ListBooks(
        self, request: pb.ListBooksRequest, context: Context
    ) -> pb.ListBooksResponse:
        return await self._page(request.filter, (), request.sort, request.page_size,
                                request.page_token)

    async def SearchBooks(
        self, request: pb.SearchBooksRequest, context: Context
    ) -> pb.ListBooksResponse:
        words = validation.search_words(request.query)
        return await self._page(request.filter, words, request.sort, request.page_size,
                                request.page_token)

    async def CheckStockInvariant(
        self, request: pb.StockInvariantRequest, context: Context
    ) -> pb.StockInvariantResponse:
        self._verifier.authenticate(context).require_admin()
        report = await self._store.check_invariant()
        return pb.StockInvariantResponse(books_checked=report.books_checked, violations=[
            pb.StockInvariantViolation(
                book_id=v.book_id, initial_plus_added=v.initial_plus_added,
                available=v.available, reserved=v.reserved, sold=v.sold)
            for v in report.violations])

    async def GetOrderTimeline(
        self, request: timeline_pb.OrderTimelineRequest, context: Context
    ) -> pb.InventoryTimelineResponse:
        caller = self._verifier.authenticate(context)
        return pb.InventoryTimelineResponse(
            steps=await self._timeline.steps(caller, request.order_id))

    async def _page(
        self, raw_filter: pb.BookFilter, words: tuple[str, ...], raw_sort: int,
        raw_size: int, token: str,
    ) -> pb.ListBooksResponse:
        book_filter = to_filter(raw_filter)
        sort = SORTS.get(raw_sort)  # type: ignore[call-overload]
        if sort is None:
            raise InvalidArgument("sort", f"unknown sort order {raw_sort}")
        size = page_size(raw_size, default=validation.DEFAULT_PAGE_SIZE,
                         maximum=validation.MAX_PAGE_SIZE)
        print_ = paging.fingerprint(book_filter, words, sort)
        after = paging.decode(token, sort, print_)
        page = await self._reads.page(BookQuery(book_filter, words, sort, size, after))
        next_token = "" if page.next_cursor is None else paging.encode(page.next_cursor, print_)
        return pb.ListBooksResponse(books=[book_response(b).book for b in page.books],
                                    next_page_token=next_token)


def to_filter(raw: pb.BookFilter) -> BookFilter:
    return validation.book_filter(
        author=raw.author,
        min_price=raw.min_price_cents if raw.HasField("min_price_cents") else None,
        max_price=raw.max_price_cents if raw.HasField("max_price_cents") else None,
        in_stock_only=raw.in_stock_only)


def to_changes(request: pb.BookUpdateRequest) -> BookChanges:
    def opt(name: str) -> Any:
        return getattr(request, name) if request.HasField(name) else None  # type: ignore[arg-type]

    which = request.WhichOneof("stock_change")
    stock = (SetAvailable(request.set_available) if which == "set_available"
             else AdjustAvailable(request.adjust_available) if which == "adjust_available"
             else None)
    return BookChanges(
        title=opt("title"), author=opt("author"), price_cents=opt("price_cents"),
        description=opt("description"), published_year=opt("published_year"), stock=stock)


@functools.lru_cache(maxsize=4096)
def book_response(book: Book) -> pb.BookResponse:
    """The reply for ``book``, built once per version of it: the cache hands out the same
    frozen ``Book`` until the book changes, and grpc only reads the message it is given."""
    return pb.BookResponse(book=to_proto(book))


def to_proto(book: Book) -> pb.Book:
    created, updated = Timestamp(), Timestamp()
    created.FromDatetime(book.created_at)
    updated.FromDatetime(book.updated_at)
    return pb.Book(
        id=book.id, title=book.title, author=book.author, isbn=book.isbn,
        price_cents=book.price_cents, description=book.description,
        published_year=book.published_year, available=book.available, reserved=book.reserved,
        sold=book.sold, created_at=created, updated_at=updated, version=book.version)
