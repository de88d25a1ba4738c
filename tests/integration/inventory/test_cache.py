"""The book cache: reads from memory, and never a book older than the last change it heard."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

from inventory.cache import BookCache
from inventory.model import Book, BookChanges, BookFilter, BookQuery, NewBook, Sort
from inventory.store import BookStore
from runtime.errors import NotFound
from runtime.mongo import Document
from tests.integration.inventory.conftest import fresh_isbn
from tests.waiting import eventually, until

pytestmark = pytest.mark.integration


class CountingStore(BookStore):
    """A store that counts the reads that reach the database."""

    reads = 0

    async def get(self, book_id: str, session: AsyncClientSession | None = None) -> Book:
        self.reads += 1
        return await super().get(book_id, session)


class NoChangeStreams(CountingStore):
    tries = 0

    async def changes(self) -> Any:
        self.tries += 1
        raise OperationFailure("change streams are not available")


class HeldReads(CountingStore):
    """A store whose reads begin, then wait for the test to let them finish."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        super().__init__(db)
        self.reading = asyncio.Event()
        self.release = asyncio.Event()

    async def get(self, book_id: str, session: AsyncClientSession | None = None) -> Book:
        self.reading.set()
        await self.release.wait()
        return await super().get(book_id, session)


@pytest.fixture
def store(mongo_db: AsyncDatabase[Document]) -> CountingStore:
    return CountingStore(mongo_db)


@contextlib.asynccontextmanager
async def live_cache(store: BookStore) -> AsyncIterator[BookCache]:
    """A cache whose change stream is open, so it remembers what it reads."""
    async with BookCache(store) as cache:
        await asyncio.wait_for(cache.wait_live(), 10)
        yield cache


async def new_book(store: BookStore) -> Book:
    return await store.add(NewBook(title="Cached", author="A. Writer", isbn=fresh_isbn(),
                                   price_cents=1000, stock=5, description="",
                                   published_year=0))


async def test_a_known_book_is_read_from_memory(store: CountingStore) -> None:
    book = await new_book(store)
    async with live_cache(store) as cache:
        first = await cache.get(book.id)
        again = [await cache.get(book.id.upper()) for _ in range(5)]  # ids are case-blind
    assert first == book
    assert again == [book] * 5
    assert store.reads == 1


async def test_a_change_made_elsewhere_is_seen_by_the_next_reads(
    mongo_db: AsyncDatabase[Document], store: CountingStore,
) -> None:
    book = await new_book(store)
    async with live_cache(store) as cache:
        assert (await cache.get(book.id)).available == 5
        # As a saga step or another instance would: straight to the database.
        await mongo_db["books"].update_one({"_id": ObjectId(book.id)},
                                           {"$inc": {"available": -2, "reserved": 2}})

        async def updated() -> bool:
            return (await cache.get(book.id)).available == 3

        await eventually(updated)
        assert (await cache.get(book.id)).reserved == 2
    assert store.reads == 1  # the update's new values were applied, not read again


async def test_a_replaced_book_is_read_again(
    mongo_db: AsyncDatabase[Document], store: CountingStore,
) -> None:
    book = await new_book(store)
    async with live_cache(store) as cache:
        await cache.get(book.id)
        document = await mongo_db["books"].find_one({"_id": ObjectId(book.id)})
        assert document is not None
        await mongo_db["books"].replace_one({"_id": document["_id"]},
                                            {**document, "title": "Replaced"})

        async def replaced() -> bool:
            return (await cache.get(book.id)).title == "Replaced"

        await eventually(replaced)
    assert store.reads >= 2


async def test_forgetting_drops_a_read_that_was_under_way(
    mongo_db: AsyncDatabase[Document],
) -> None:
    store = HeldReads(mongo_db)
    store.release.set()
    book = await new_book(store)
    store.release.clear()
    async with live_cache(store) as cache:
        reading = asyncio.create_task(cache.get(book.id))
        await asyncio.wait_for(store.reading.wait(), 10)
        cache.forget(book.id)
        store.release.set()
        assert await reading == book
        await cache.get(book.id)
    assert store.reads == 2  # the first result was not kept


async def test_unknown_books_are_not_found_and_not_remembered(store: CountingStore) -> None:
    async with live_cache(store) as cache:
        for book_id in ("not-an-id", str(ObjectId()), str(ObjectId())):
            with pytest.raises(NotFound):
                await cache.get(book_id)
    assert store.reads == 3


async def test_without_change_streams_every_read_goes_to_the_database(
    mongo_db: AsyncDatabase[Document],
) -> None:
    store = NoChangeStreams(mongo_db)
    book = await new_book(store)
    async with BookCache(store, retry_interval=0.05) as cache:
        await until(lambda: store.tries >= 2)  # it failed to open one, and tried again
        assert not cache.live
        await mongo_db["books"].update_one({"_id": ObjectId(book.id)},
                                           {"$set": {"price_cents": 1500}})
        prices = [(await cache.get(book.id)).price_cents for _ in range(3)]
    assert prices == [1500] * 3
    assert store.reads == 3


def by_price(author: str) -> BookQuery:
    return BookQuery(BookFilter(author=author.lower()), (), Sort.PRICE_ASC, page_size=10)


async def test_a_remembered_page_follows_stock_and_is_dropped_when_books_move(
    mongo_db: AsyncDatabase[Document],
) -> None:
    author = f"Paged {ObjectId()}"
    writer = BookStore(mongo_db)  # another instance, as far as the cache can tell

    async def add(title: str, price: int) -> Book:
        return await writer.add(NewBook(title=title, author=author, isbn=fresh_isbn(),
                                        price_cents=price, stock=5, description="",
                                        published_year=0))

    cheap, dear = await add("Cheap", 500), await add("Dear", 900)
    store = CountingStore(mongo_db)
    async with live_cache(store) as cache:
        first = await cache.page(by_price(author))
        assert [b.id for b in first.books] == [cheap.id, dear.id]
        # A stock move changes no page: the remembered page shows the new figure.
        await mongo_db["books"].update_one({"_id": ObjectId(cheap.id)},
                                           {"$inc": {"available": -2, "reserved": 2}})

        async def cheap_shows_the_move() -> bool:
            page = await cache.page(by_price(author))
            return [b.available for b in page.books] == [3, 5]

        await eventually(cheap_shows_the_move)
        # A price change may move books between pages: the next read sees the new order.
        await writer.update(cheap.id, BookChanges(price_cents=1500))

        async def reordered() -> bool:
            page = await cache.page(by_price(author))
            return [b.id for b in page.books] == [dear.id, cheap.id]

        await eventually(reordered)
        # So does a book added elsewhere.
        newest = await add("Newest", 100)

        async def includes_the_new_book() -> bool:
            page = await cache.page(by_price(author))
            return [b.id for b in page.books] == [newest.id, dear.id, cheap.id]

        await eventually(includes_the_new_book)
