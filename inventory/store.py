"""The catalogue in MongoDB: books, their indexes, listing and the stock invariant check.

A book document keeps five counters. ``initial_stock`` and ``added_stock`` say how many
copies ever came in (``added_stock`` goes negative when copies are written off);
``available``, ``reserved`` and ``sold`` say where they are now. Every write keeps
``initial_stock + added_stock == available + reserved + sold``. ``title_lower`` and
``author_lower`` serve case-insensitive sorting and matching without collations.
``version`` grows by one with every admin write (add, update), never with stock moved by
the saga: it orders the catalogue events the order service keeps its read model by.
Admin writes take the caller's session, so the book and its event commit together.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.change_stream import AsyncChangeStream
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from inventory import paging
from inventory.model import (
    AdjustAvailable,
    Book,
    BookChanges,
    BookQuery,
    InvariantReport,
    InvariantViolation,
    NewBook,
    Page,
    Sort,
)
from runtime.errors import AlreadyExists, FailedPrecondition, NotFound
from runtime.mongo import Document

BOOKS = "books"
SORT_KEYS: dict[Sort, tuple[str, int]] = {
    Sort.TITLE: ("title_lower", ASCENDING),
    Sort.AUTHOR: ("author_lower", ASCENDING),
    Sort.PRICE_ASC: ("price_cents", ASCENDING),
    Sort.PRICE_DESC: ("price_cents", DESCENDING),
    Sort.NEWEST: ("created_at", DESCENDING),
}


def object_id(book_id: str) -> ObjectId | None:
    """The id as stored, or ``None`` if it cannot name any book."""
    try:
        return ObjectId(book_id)
    except (InvalidId, TypeError):
        return None


def utc_now() -> datetime:
    """Now, truncated to milliseconds as MongoDB stores it, so values round-trip exactly."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class BookStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._books: AsyncCollection[Document] = db[BOOKS]

    async def ensure_indexes(self) -> None:
        await self._books.create_indexes([
            IndexModel([("isbn", ASCENDING)], unique=True, name="isbn_unique"),
            *(IndexModel([(field, order), ("_id", order)], name=f"sort_{sort.value}")
              for sort, (field, order) in SORT_KEYS.items() if sort is not Sort.PRICE_DESC),
        ])

    async def add(self, book: NewBook, session: AsyncClientSession | None = None) -> Book:
        now = utc_now()
        doc: Document = {
            "_id": ObjectId(), "title": book.title, "title_lower": book.title.lower(),
            "author": book.author, "author_lower": book.author.lower(), "isbn": book.isbn,
            "price_cents": book.price_cents, "description": book.description,
            "published_year": book.published_year, "initial_stock": book.stock,
            "added_stock": 0, "available": book.stock, "reserved": 0, "sold": 0,
            "created_at": now, "updated_at": now, "version": 1,
        }
        try:
            await self._books.insert_one(doc, session=session)
        except DuplicateKeyError:
            raise AlreadyExists(
                f"a book with ISBN {book.isbn} is already in the catalogue") from None
        return to_book(doc)

    async def get(self, book_id: str, session: AsyncClientSession | None = None) -> Book:
        oid = object_id(book_id)
        doc = None if oid is None else await self._books.find_one({"_id": oid}, session=session)
        if doc is None:
            raise NotFound(f"no book with id {book_id!r}")
        return to_book(doc)

    async def changes(self) -> AsyncChangeStream[Document]:
        """A change stream of every write to the books: the id, the kind of change, and for
        an update the fields it set or removed (never the whole document)."""
        return await self._books.watch([{"$project": {
            "documentKey": 1, "operationType": 1, "updateDescription": 1}}])

    async def update(self, book_id: str, changes: BookChanges,
                     session: AsyncClientSession | None = None) -> Book:
        """Apply ``changes`` in one conditional atomic update; stock edits keep the invariant."""
        oid = object_id(book_id)
        if oid is None:
            raise NotFound(f"no book with id {book_id!r}")
        fields = _field_changes(changes)
        stock = changes.stock
        query: Document = {"_id": oid}
        update: Document | list[Document]
        if stock is None:
            update = {"$set": fields, "$inc": {"version": 1}}
        elif isinstance(stock, AdjustAvailable):
            if stock.delta < 0:
                query["available"] = {"$gte": -stock.delta}
            update = {"$set": fields, "$inc": {
                "available": stock.delta, "added_stock": stock.delta, "version": 1}}
        else:
            # A pipeline reads the current count in the same atomic step that replaces it,
            # so concurrent reservations can never be lost between a read and a write.
            delta = {"$subtract": [stock.value, "$available"]}
            update = [{"$set": {
                **{k: {"$literal": v} for k, v in fields.items()},
                "available": stock.value, "added_stock": {"$add": ["$added_stock", delta]},
                "version": {"$add": [{"$ifNull": ["$version", 0]}, 1]}}}]
        result = await self._books.update_one(query, update, session=session)
        if result.matched_count == 0:
            current = await self.get(book_id, session)  # NotFound if it is gone
            # Otherwise only a removal can miss: its filter asks for enough copies available.
            removing = -stock.delta if isinstance(stock, AdjustAvailable) else 0
            raise FailedPrecondition(
                f"cannot remove {removing} cop{'y' if removing == 1 else 'ies'}: "
                f"only {current.available} available")
        return await self.get(book_id, session)

    async def page(self, query: BookQuery) -> Page:
        field, order = SORT_KEYS[query.sort]
        conditions = _conditions(query)
        if query.after is not None:
            op = "$gt" if order == ASCENDING else "$lt"
            key, after_id = query.after.key, ObjectId(query.after.book_id)
            conditions.append({"$or": [{field: {op: key}}, {field: key, "_id": {op: after_id}}]})
        cursor = self._books.find({"$and": conditions} if conditions else {})
        docs = await cursor.sort([(field, order), ("_id", order)]).limit(
            query.page_size + 1).to_list()
        books = [to_book(d) for d in docs[:query.page_size]]
        more = len(docs) > query.page_size
        return Page(books, paging.cursor_after(books[-1], query.sort) if more else None)

    async def check_invariant(self) -> InvariantReport:
        """Every book's counters, summed by the server; reports imbalances and negatives."""
        checked, violations = 0, []
        pipeline: list[Document] = [{"$project": {
            "in": {"$add": ["$initial_stock", "$added_stock"]},
            "available": 1, "reserved": 1, "sold": 1, "added_stock": 1, "initial_stock": 1}}]
        async for doc in await self._books.aggregate(pipeline):
            checked += 1
            counts = [doc.get(k, 0) for k in ("available", "reserved", "sold")]
            if doc["in"] != sum(counts) or min(*counts, doc.get("initial_stock", 0)) < 0:
                violations.append(InvariantViolation(str(doc["_id"]), doc["in"], *counts))
        return InvariantReport(checked, violations)


def _field_changes(changes: BookChanges) -> Document:
    fields: Document = {"updated_at": utc_now()}
    if changes.title is not None:
        fields |= {"title": changes.title, "title_lower": changes.title.lower()}
    if changes.author is not None:
        fields |= {"author": changes.author, "author_lower": changes.author.lower()}
    for name in ("price_cents", "description", "published_year"):
        if (value := getattr(changes, name)) is not None:
            fields[name] = value
    return fields


def _conditions(query: BookQuery) -> list[Document]:
    """Filters as a list of clauses to AND; user text is regex-escaped, never interpreted."""
    found: list[Document] = []
    flt = query.filter
    if flt.author:
        found.append({"author_lower": {"$regex": re.escape(flt.author)}})
    price: dict[str, Any] = {}
    if flt.min_price_cents is not None:
        price["$gte"] = flt.min_price_cents
    if flt.max_price_cents is not None:
        price["$lte"] = flt.max_price_cents
    if price:
        found.append({"price_cents": price})
    if flt.in_stock_only:
        found.append({"available": {"$gt": 0}})
    for word in query.words:
        pattern = {"$regex": re.escape(word)}
        found.append({"$or": [{"title_lower": pattern}, {"author_lower": pattern}]})
    return found


_BOOK_FIELDS = frozenset(f.name for f in dataclasses.fields(Book)) - {"id"}
_DERIVED_FIELDS = frozenset({"title_lower", "author_lower"})


def updated_book(book: Book, change: Document) -> Book | None:
    """``book`` after the update ``change`` describes (a change-stream event), or ``None`` if
    the event cannot be applied to it field by field."""
    if change.get("operationType") != "update":
        return None
    description = change.get("updateDescription") or {}
    fields: Document = description.get("updatedFields") or {}
    if description.get("removedFields") or description.get("truncatedArrays"):
        return None
    if any(name not in _BOOK_FIELDS | _DERIVED_FIELDS for name in fields):
        return None  # a dotted path or a field this model does not know: read it again
    return dataclasses.replace(
        book, **{name: value for name, value in fields.items() if name in _BOOK_FIELDS})


def to_book(doc: Document) -> Book:
    return Book(
        id=str(doc["_id"]), title=doc["title"], author=doc["author"], isbn=doc["isbn"],
        price_cents=doc["price_cents"], description=doc["description"],
        published_year=doc["published_year"], initial_stock=doc["initial_stock"],
        added_stock=doc["added_stock"], available=doc["available"], reserved=doc["reserved"],
        sold=doc["sold"], created_at=doc["created_at"], updated_at=doc["updated_at"],
        version=doc.get("version", 0),
    )
