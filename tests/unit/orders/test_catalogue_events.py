"""Orders' catalogue read model over the in-memory broker: the newest entry per book wins,
whatever order events arrive in, and a repeat changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from contracts.bookstore.events.v1 import events_pb2 as ev
from contracts.events import new_meta
from orders.catalogue import CatalogueHandlers, ReadModelCatalogue
from orders.catalogue_store import CatalogueStore
from orders.events import EVENTS
from orders.handlers import OrderHandlers, subscriptions
from orders.payments import SimulatedGateway
from orders.pricing import BookInfo
from orders.store import OrderStore
from runtime.errors import NotFound, Unavailable
from runtime.mongo import Document
from saga import Backoff, Delivery, InMemoryBroker, SagaParticipant

FAST = Backoff(initial=0.01, maximum=0.05)


def entry(version: int, *, title: str = "Dune", price_cents: int = 1000,
          book_id: str = "0000000000000000000000b1") -> ev.CatalogueEntry:
    return ev.CatalogueEntry(book_id=book_id, title=title, price_cents=price_cents,
                             version=version)


@dataclass
class Catalogue:
    store: CatalogueStore
    broker: InMemoryBroker

    async def hear(self, *events: ev.BookAdded | ev.BookChanged) -> None:
        for event in events:
            name = event.DESCRIPTOR.name
            await self.broker.deliver("orders", Delivery(
                body=event.SerializeToString(), routing_key=name, type=name,
                message_id=event.meta.event_id, correlation_id=event.book.book_id))
        await self.broker.idle()

    async def held(self, book_id: str = "0000000000000000000000b1") -> BookInfo | None:
        return (await self.store.books([book_id])).get(book_id)


@pytest.fixture
async def catalogue(mongo_db: AsyncDatabase[Document]) -> AsyncIterator[Catalogue]:
    store = CatalogueStore(mongo_db)
    broker = InMemoryBroker()
    handlers = OrderHandlers(OrderStore(mongo_db), SimulatedGateway(mongo_db))
    async with SagaParticipant(
            service="orders", db=mongo_db, transport=broker.transport("orders"),
            subscriptions=subscriptions(handlers, CatalogueHandlers(store)), events=EVENTS,
            retry_backoff=FAST, relay_poll_interval=0.05):
        yield Catalogue(store, broker)


async def test_added_then_changed_keeps_the_change(catalogue: Catalogue) -> None:
    await catalogue.hear(ev.BookAdded(meta=new_meta(), book=entry(1)),
                         ev.BookChanged(meta=new_meta(), book=entry(2, price_cents=1200)))
    assert await catalogue.held() == BookInfo("0000000000000000000000b1", "Dune", 1200, 2)


async def test_an_older_entry_arriving_late_changes_nothing(catalogue: Catalogue) -> None:
    await catalogue.hear(ev.BookChanged(meta=new_meta(), book=entry(3, title="Dune II")),
                         ev.BookAdded(meta=new_meta(), book=entry(1)),
                         ev.BookChanged(meta=new_meta(), book=entry(2, price_cents=5)))
    assert await catalogue.held() == BookInfo("0000000000000000000000b1", "Dune II", 1000, 3)


async def test_a_repeated_event_changes_nothing(catalogue: Catalogue) -> None:
    changed = ev.BookChanged(meta=new_meta(), book=entry(2, price_cents=1500))
    await catalogue.hear(changed, changed)
    # the same version again under a new event id (a retried publish with a fresh id)
    await catalogue.hear(ev.BookChanged(meta=new_meta(), book=entry(2, price_cents=1)))
    assert await catalogue.held() == BookInfo("0000000000000000000000b1", "Dune", 1500, 2)


async def test_an_event_with_no_entry_is_dead_lettered(catalogue: Catalogue) -> None:
    await catalogue.hear(ev.BookAdded(meta=new_meta()))
    assert len(catalogue.broker.dead_letters("orders")) == 1
    assert await catalogue.store.books([""]) == {}


async def test_unknown_books_are_unavailable_until_a_fill_completes_then_not_found(
    catalogue: Catalogue,
) -> None:
    await catalogue.hear(ev.BookAdded(meta=new_meta(), book=entry(1)))
    reads = ReadModelCatalogue(catalogue.store)
    assert set(await reads.books(["0000000000000000000000b1"])) == {"0000000000000000000000b1"}
    with pytest.raises(Unavailable, match="still loading the catalogue"):
        await reads.books(["0000000000000000000000b1", "0000000000000000000000b2"])
    await catalogue.store.mark_filled()
    with pytest.raises(NotFound, match="book 0000000000000000000000b2 does not exist"):
        await reads.books(["0000000000000000000000b1", "0000000000000000000000b2"])
