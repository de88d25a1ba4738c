"""The catalogue as the order service knows it: prices for new orders with no call away.

Inventory announces every admin write to a book (``BookAdded``, ``BookChanged``, each with
the book's whole entry and version) through its outbox; :class:`CatalogueHandlers` keep
the newest entry per book in orders' own database, and :class:`ReadModelCatalogue` prices
``PlaceOrder`` from it, so placing an order works while inventory is down or restarting.

A book the read model does not know is NOT_FOUND once the read model has been filled
(:mod:`orders.catalogue_fill`); before that it is UNAVAILABLE, since the book may well
exist. A book added moments ago is unknown until its ``BookAdded`` arrives (normally a few
milliseconds: one outbox hand-off and one delivery).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Protocol

from contracts.bookstore.events.v1 import events_pb2 as ev
from orders.catalogue_store import CatalogueStore
from orders.pricing import BookInfo
from runtime.errors import NotFound, Unavailable
from saga import PoisonMessage, UnitOfWork

log = logging.getLogger(__name__)


class Catalog(Protocol):
    async def books(self, book_ids: Iterable[str]) -> dict[str, BookInfo]:
        """Every named book; raises NotFound for the first that does not exist."""


class ReadModelCatalogue:
    """:class:`Catalog` over orders' read model: one query, never a call to inventory."""

    def __init__(self, store: CatalogueStore) -> None:
        self._store = store

    async def books(self, book_ids: Iterable[str]) -> dict[str, BookInfo]:
        wanted = list(book_ids)
        found = await self._store.books(wanted)
        missing = [book_id for book_id in wanted if book_id not in found]
        if missing:
            if await self._store.filled_at() is None:
                raise Unavailable("the order service is still loading the catalogue, so the "
                                  "order cannot be priced; try again shortly")
            raise NotFound(f"book {missing[0]} does not exist")
        return found


def book_info(entry: ev.CatalogueEntry) -> BookInfo:
    """The read model's form of an event's entry; poison if no entry could be meant."""
    if not entry.book_id or entry.version < 1 or entry.price_cents < 0:
        raise PoisonMessage(f"not a catalogue entry: book_id={entry.book_id!r}, "
                            f"version={entry.version}, price_cents={entry.price_cents}")
    return BookInfo(id=entry.book_id, title=entry.title, price_cents=entry.price_cents,
                    version=entry.version)


class CatalogueHandlers:
    """Keep the newest entry per book; an older or repeated one changes nothing."""

    def __init__(self, store: CatalogueStore) -> None:
        self._store = store

    async def on_book_added(self, event: ev.BookAdded, uow: UnitOfWork) -> None:
        await self._keep(event.book, uow)

    async def on_book_changed(self, event: ev.BookChanged, uow: UnitOfWork) -> None:
        await self._keep(event.book, uow)

    async def _keep(self, entry: ev.CatalogueEntry, uow: UnitOfWork) -> None:
        book = book_info(entry)
        if await self._store.apply(book, uow.session):
            log.info("catalogue entry kept", extra={"book_id": book.id, "version": book.version})
        else:
            log.info("older catalogue entry ignored",
                     extra={"book_id": book.id, "version": book.version})
