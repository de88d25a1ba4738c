"""Catalogue writes and the events that tell the order service about them.

``AddBook`` and ``UpdateBook`` change a book and store its ``BookAdded`` / ``BookChanged``
in one outbox transaction, so the order service's read model of the catalogue hears of
every admin write, or of none that did not commit. Each event carries the book's whole
entry (title, price, version), never a diff: the reader applies any one of them alone.

Stock moved by the saga (reservations, sales, releases) emits nothing: orders keeps no
stock figure, so those saga steps stay as cheap as they were (see ``docs/design.md``).
"""

from __future__ import annotations

from contracts.bookstore.events.v1 import events_pb2 as ev
from inventory.model import Book, BookChanges, NewBook
from inventory.store import BookStore
from saga import Outbox, UnitOfWork


def catalogue_entry(book: Book) -> ev.CatalogueEntry:
    return ev.CatalogueEntry(book_id=book.id, title=book.title, price_cents=book.price_cents,
                             version=book.version)


class CatalogueWrites:
    """The admin's writes to the catalogue, each with its event in the same transaction."""

    def __init__(self, store: BookStore, outbox: Outbox) -> None:
        self._store = store
        self._outbox = outbox

    async def add(self, new: NewBook) -> Book:
        async def work(uow: UnitOfWork) -> Book:
            book = await self._store.add(new, uow.session)
            uow.emit(ev.BookAdded(book=catalogue_entry(book)))
            return book

        return await self._outbox.run(work)

    async def update(self, book_id: str, changes: BookChanges) -> Book:
        async def work(uow: UnitOfWork) -> Book:
            book = await self._store.update(book_id, changes, uow.session)
            uow.emit(ev.BookChanged(book=catalogue_entry(book)))
            return book

        return await self._outbox.run(work)
