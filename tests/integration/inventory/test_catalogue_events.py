"""Every admin write to a book stores its catalogue event in the same transaction; stock moved
by the saga stores none."""

from __future__ import annotations

import grpc
import pytest

from contracts.bookstore.events.v1 import events_pb2 as ev
from contracts.bookstore.inventory.v1 import inventory_pb2 as pb
from inventory.events import EVENTS
from inventory.reservations import Line
from inventory.stock import StockLedger
from inventory.stock_store import StockStore
from saga import Outbox, UnitOfWork
from tests.integration.inventory.conftest import Client, fresh_isbn

pytestmark = pytest.mark.integration


async def catalogue_events(client: Client) -> list[ev.BookAdded | ev.BookChanged]:
    found = await client.db["outbox"].find(
        {"name": {"$in": ["BookAdded", "BookChanged"]}}).sort("created_at", 1).to_list()
    return [ev.BookAdded.FromString(d["payload"]) if d["name"] == "BookAdded"
            else ev.BookChanged.FromString(d["payload"]) for d in found]


async def test_adding_a_book_stores_its_entry_at_version_one(client: Client) -> None:
    book = await client.add(title="Dune", price_cents=1599, isbn=fresh_isbn())
    [added] = await catalogue_events(client)
    assert isinstance(added, ev.BookAdded)
    assert (added.book.book_id, added.book.title, added.book.price_cents,
            added.book.version) == (book.id, "Dune", 1599, 1)
    assert book.version == 1
    record = await client.db["outbox"].find_one({"name": "BookAdded"})
    assert record is not None
    assert record["correlation_id"] == book.id


async def test_each_update_stores_the_whole_entry_at_a_higher_version(client: Client) -> None:
    book = await client.add(title="Emma", price_cents=899, isbn=fresh_isbn())
    await client.stub.UpdateBook(pb.BookUpdateRequest(book_id=book.id, price_cents=999),
                                 metadata=client.admin)
    renamed = await client.stub.UpdateBook(
        pb.BookUpdateRequest(book_id=book.id, title="Emma (annotated)", adjust_available=3),
        metadata=client.admin)
    events = await catalogue_events(client)
    assert [(type(e).__name__, e.book.title, e.book.price_cents, e.book.version)
            for e in events] == [("BookAdded", "Emma", 899, 1), ("BookChanged", "Emma", 999, 2),
                                 ("BookChanged", "Emma (annotated)", 999, 3)]
    assert renamed.book.version == 3
    listed = await client.stub.ListBooks(pb.ListBooksRequest())
    assert [(b.id, b.version) for b in listed.books] == [(book.id, 3)]


async def test_a_refused_update_stores_no_event_and_keeps_the_version(client: Client) -> None:
    book = await client.add(stock=2, isbn=fresh_isbn())
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await client.stub.UpdateBook(
            pb.BookUpdateRequest(book_id=book.id, price_cents=1, adjust_available=-5),
            metadata=client.admin)
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert [type(e).__name__ for e in await catalogue_events(client)] == ["BookAdded"]
    details = await client.stub.GetBookDetails(pb.BookIDRequest(book_id=book.id))
    assert (details.book.version, details.book.price_cents) == (1, 1000)


async def test_stock_moved_by_the_saga_stores_no_catalogue_event(client: Client) -> None:
    book = await client.add(stock=4, isbn=fresh_isbn())
    ledger, outbox = StockLedger(StockStore(client.db)), Outbox(client.db, EVENTS)

    async def reserve(uow: UnitOfWork) -> None:
        await ledger.reserve("o-1", [Line(book.id, 2)], uow)

    await outbox.run(reserve)
    assert [type(e).__name__ for e in await catalogue_events(client)] == ["BookAdded"]
    stored = await client.db["books"].find_one({})
    assert stored is not None
    assert (stored["available"], stored["reserved"], stored["version"]) == (2, 2, 1)
