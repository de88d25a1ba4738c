"""The order service's read model of the catalogue, in its own database: the only module
that talks to the ``catalogue`` and ``catalogue_fill`` collections.

One document per book (``_id`` = inventory's book id) with its title, price and the version
inventory gave it. Every write names the versions it may replace, so an older entry never
overwrites a newer one, whatever order events and listings arrive in. ``catalogue_fill``
holds one marker document once a fill from inventory's listing has completed.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime

from pymongo import UpdateOne
from pymongo.asynchronous.change_stream import AsyncChangeStream
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from orders.model import utc_now
from orders.pricing import BookInfo
from runtime.mongo import Document
from saga.unit_of_work import current_unit_of_work

CATALOGUE = "catalogue"
FILLS = "catalogue_fill"
_FILLED = "filled"
_DUPLICATE_KEY = 11000


class CatalogueStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._books = db[CATALOGUE]
        self._fills = db[FILLS]
        self._changed: list[Callable[[str | None], None]] = []

    def on_changed(self, callback: Callable[[str | None], None]) -> None:
        """Call ``callback(book_id)`` once this store's write of an entry is committed
        (``None``: any entry, after a fill): how a memory of it in this process forgets it at
        once, not a change-stream round trip later."""
        self._changed.append(callback)

    def _announce(self, book_id: str | None, session: AsyncClientSession | None) -> None:
        uow = current_unit_of_work() if session is not None else None
        for callback in self._changed:
            if uow is None:
                callback(book_id)
            else:
                uow.after_commit(functools.partial(callback, book_id))

    @asynccontextmanager
    async def changes(self) -> AsyncIterator[AsyncChangeStream[Document]]:
        """A change stream of every write to the read model's entries, each event carrying
        only the book's id."""
        stream = await self._books.watch([{"$project": {"documentKey": 1}}])
        async with stream:
            yield stream

    async def books(self, book_ids: Sequence[str]) -> dict[str, BookInfo]:
        """The named books this read model knows, by id (unknown ones are left out)."""
        found = self._books.find({"_id": {"$in": list(book_ids)}})
        return {doc["_id"]: _from_document(doc) async for doc in found}

    async def apply(self, book: BookInfo, session: AsyncClientSession | None = None) -> bool:
        """Keep ``book`` if it is newer than the entry held; ``False`` if it is not.

        Read, then write under a version filter: an upsert whose filter misses an existing
        newer entry would fail on the duplicate ``_id``, and inside a transaction a failed
        write aborts the whole transaction.
        """
        held = await self._books.find_one({"_id": book.id}, {"version": 1}, session=session)
        if held is None:
            await self._books.insert_one(_to_document(book, utc_now()), session=session)
            self._announce(book.id, session)
            return True
        if held.get("version", 0) >= book.version:
            return False
        result = await self._books.update_one(
            {"_id": book.id, "version": {"$lt": book.version}},
            {"$set": _to_document(book, utc_now())}, session=session)
        if result.modified_count != 1:
            return False
        self._announce(book.id, session)
        return True

    async def apply_listing(self, books: Iterable[BookInfo]) -> None:
        """Write each listed book unless a newer entry is held (outside any transaction).

        An entry of the same version is written again, so a fill also repairs it; a newer
        one makes the upsert collide on ``_id``, which is the "keep what is held" answer.
        """
        now = utc_now()
        writes = [UpdateOne({"_id": book.id, "version": {"$lte": book.version}},
                            {"$set": _to_document(book, now)}, upsert=True) for book in books]
        if not writes:
            return
        try:
            await self._books.bulk_write(writes, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if exc.details.get("writeConcernErrors") or any(
                    error.get("code") != _DUPLICATE_KEY for error in errors):
                raise
        finally:
            self._announce(None, None)

    async def filled_at(self) -> datetime | None:
        """When a fill from inventory's listing last completed; ``None`` if none ever did."""
        marker = await self._fills.find_one({"_id": _FILLED})
        return None if marker is None else marker["at"]

    async def mark_filled(self) -> None:
        await self._fills.update_one({"_id": _FILLED}, {"$set": {"at": utc_now()}}, upsert=True)


def _to_document(book: BookInfo, now: datetime) -> Document:
    return {"_id": book.id, "title": book.title, "price_cents": book.price_cents,
            "version": book.version, "updated_at": now}


def _from_document(doc: Document) -> BookInfo:
    return BookInfo(id=doc["_id"], title=doc["title"], price_cents=doc["price_cents"],
                    version=doc.get("version", 0))
