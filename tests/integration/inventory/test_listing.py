"""ListBooks and SearchBooks: filters, case-insensitive matching, sorts and page tokens."""

from __future__ import annotations

import base64
import json

import grpc
import pytest

from contracts.bookstore.inventory.v1 import inventory_pb2 as pb
from tests.integration.inventory.conftest import Client, fresh_isbn

pytestmark = pytest.mark.integration

# Repeated titles, authors and prices, so the id tie-breaker has work to do on every sort.
CATALOGUE = [
    ("Dune", "Frank Herbert", 1299, 3), ("dune", "frank herbert", 1299, 0),
    ("Emma", "Jane Austen", 500, 1), ("Persuasion", "JANE AUSTEN", 500, 2),
    ("The Hobbit", "J.R.R. Tolkien", 899, 0), ("Silmarillion", "J.R.R. Tolkien", 2500, 1),
    ("A (Strange) Book?", "Anne Ó Brien", 0, 4), ("Zebra", "Zed", 1299, 1),
    ("Middlemarch", "George Eliot", 750, 0), ("Emma", "Someone Else", 750, 9),
    ("Beloved", "Toni Morrison", 1100, 2),
]
SORTS = [pb.BOOK_SORT_UNSPECIFIED, pb.BOOK_SORT_TITLE, pb.BOOK_SORT_AUTHOR,
         pb.BOOK_SORT_PRICE_ASC, pb.BOOK_SORT_PRICE_DESC, pb.BOOK_SORT_NEWEST]


@pytest.fixture
async def books(client: Client) -> list[pb.Book]:
    return [await client.add(title=t, author=a, price_cents=p, stock=s, isbn=fresh_isbn())
            for t, a, p, s in CATALOGUE]


def expected_order(books: list[pb.Book], sort: int) -> list[str]:
    def key(b: pb.Book) -> tuple[object, ...]:
        if sort == pb.BOOK_SORT_AUTHOR:
            return (b.author.lower(), b.id)
        if sort == pb.BOOK_SORT_PRICE_ASC:
            return (b.price_cents, b.id)
        if sort == pb.BOOK_SORT_PRICE_DESC:
            return (-b.price_cents, tuple(-ord(c) for c in b.id))
        if sort == pb.BOOK_SORT_NEWEST:
            return (-b.created_at.ToMilliseconds(), tuple(-ord(c) for c in b.id))
        return (b.title.lower(), b.id)

    return [b.id for b in sorted(books, key=key)]


async def walk(client: Client, request: pb.ListBooksRequest) -> tuple[list[str], int]:
    """Every id over all pages, in order, and how many pages it took."""
    ids: list[str] = []
    pages = 0
    while True:
        response = await client.stub.ListBooks(request)
        pages += 1
        assert len(response.books) <= (request.page_size or 20)
        ids += [b.id for b in response.books]
        if not response.next_page_token:
            return ids, pages
        request.page_token = response.next_page_token
        assert pages < 50, "paging does not end"


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("page_size", [1, 3, 0])
async def test_paging_visits_every_book_once_in_order(
    client: Client, books: list[pb.Book], sort: int, page_size: int
) -> None:
    ids, pages = await walk(client, pb.ListBooksRequest(sort=sort, page_size=page_size))  # type: ignore[arg-type]
    assert ids == expected_order(books, sort)
    assert len(set(ids)) == len(CATALOGUE)
    assert pages == -(-len(CATALOGUE) // (page_size or 20))


async def test_filters(client: Client, books: list[pb.Book]) -> None:
    async def titles(**flt: object) -> list[str]:
        ids, _ = await walk(client, pb.ListBooksRequest(filter=pb.BookFilter(**flt),  # type: ignore[arg-type]
                                                        page_size=2))
        return sorted(next(b.title for b in books if b.id == i) for i in ids)

    assert await titles(author="AUSTEN") == ["Emma", "Persuasion"]
    assert await titles(author="r.r.") == ["Silmarillion", "The Hobbit"]
    assert await titles(author="ó b") == ["A (Strange) Book?"]
    assert await titles(author=".*") == []
    assert await titles(min_price_cents=750, max_price_cents=1100) == [
        "Beloved", "Emma", "Middlemarch", "The Hobbit"]
    assert await titles(max_price_cents=0) == ["A (Strange) Book?"]
    assert await titles(in_stock_only=True, author="herbert") == ["Dune"]
    assert await titles(in_stock_only=True, min_price_cents=1200) == [
        "Dune", "Silmarillion", "Zebra"]


async def test_search_matches_every_word_in_title_or_author(
    client: Client, books: list[pb.Book]
) -> None:
    async def search(query: str, **flt: object) -> list[str]:
        response = await client.stub.SearchBooks(pb.SearchBooksRequest(
            query=query, filter=pb.BookFilter(**flt), page_size=100))  # type: ignore[arg-type]
        return sorted(f"{b.title}/{b.author}" for b in response.books)

    assert await search("DUNE") == ["Dune/Frank Herbert", "dune/frank herbert"]
    assert await search("emma austen") == ["Emma/Jane Austen"]
    assert await search("tolkien HOBBIT") == ["The Hobbit/J.R.R. Tolkien"]
    assert await search("(strange) book?") == ["A (Strange) Book?/Anne Ó Brien"]
    assert await search("emma", min_price_cents=600) == ["Emma/Someone Else"]
    assert await search("emma", in_stock_only=True, author="austen") == ["Emma/Jane Austen"]
    assert await search("dune nobody") == []
    assert await search(".*") == []


async def test_search_pages_with_its_own_tokens(client: Client, books: list[pb.Book]) -> None:
    first = await client.stub.SearchBooks(pb.SearchBooksRequest(
        query="e", sort=pb.BOOK_SORT_PRICE_DESC, page_size=4))
    second = await client.stub.SearchBooks(pb.SearchBooksRequest(
        query="e", sort=pb.BOOK_SORT_PRICE_DESC, page_size=4, page_token=first.next_page_token))
    prices = [b.price_cents for b in [*first.books, *second.books]]
    assert prices == sorted(prices, reverse=True)
    assert not {b.id for b in first.books} & {b.id for b in second.books}
    await expect_invalid(client.stub.SearchBooks(pb.SearchBooksRequest(
        query="other", sort=pb.BOOK_SORT_PRICE_DESC, page_token=first.next_page_token)))
    await expect_invalid(client.stub.SearchBooks(pb.SearchBooksRequest(query="  ")))


async def expect_invalid(call: object) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, caught.value.details()
    return caught.value.details() or ""


async def test_bad_paging_and_filters_are_refused(client: Client, books: list[pb.Book]) -> None:
    first = await client.stub.ListBooks(pb.ListBooksRequest(sort=pb.BOOK_SORT_TITLE, page_size=2))
    token = first.next_page_token
    assert token
    assert "page_size" in await expect_invalid(client.stub.ListBooks(
        pb.ListBooksRequest(page_size=101)))
    assert "page_size" in await expect_invalid(client.stub.ListBooks(
        pb.ListBooksRequest(page_size=-1)))
    assert "page_token" in await expect_invalid(client.stub.ListBooks(
        pb.ListBooksRequest(page_token="%%%not-a-token")))
    assert "another query" in await expect_invalid(client.stub.ListBooks(
        pb.ListBooksRequest(sort=pb.BOOK_SORT_PRICE_ASC, page_token=token)))
    assert "another query" in await expect_invalid(client.stub.ListBooks(pb.ListBooksRequest(
        sort=pb.BOOK_SORT_TITLE, page_token=token, filter=pb.BookFilter(in_stock_only=True))))
    body = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    body["i"] = "zz"
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).decode()
    assert "page_token" in await expect_invalid(client.stub.ListBooks(
        pb.ListBooksRequest(sort=pb.BOOK_SORT_TITLE, page_token=forged)))
    assert "max_price_cents" in await expect_invalid(client.stub.ListBooks(pb.ListBooksRequest(
        filter=pb.BookFilter(min_price_cents=10, max_price_cents=5))))
    assert "min_price_cents" in await expect_invalid(client.stub.ListBooks(pb.ListBooksRequest(
        filter=pb.BookFilter(min_price_cents=-1))))
    assert "sort" in await expect_invalid(client.stub.ListBooks(
        pb.ListBooksRequest(sort=99)))  # type: ignore[arg-type]
    assert "another query" in await expect_invalid(client.stub.SearchBooks(pb.SearchBooksRequest(
        query="dune", sort=pb.BOOK_SORT_TITLE, page_token=token)))
    # The token still works where it belongs.
    resumed = await client.stub.ListBooks(pb.ListBooksRequest(
        sort=pb.BOOK_SORT_TITLE, page_size=2, page_token=token))
    assert [b.title.lower() for b in resumed.books] == ["dune", "dune"]


async def test_empty_catalogue_lists_nothing(client: Client) -> None:
    response = await client.stub.ListBooks(pb.ListBooksRequest())
    assert (list(response.books), response.next_page_token) == ([], "")


def _crafted(body: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


async def test_crafted_page_tokens_are_invalid_arguments_naming_the_field(
    client: Client, books: list[pb.Book],
) -> None:
    first = await client.stub.ListBooks(pb.ListBooksRequest(
        sort=pb.BOOK_SORT_PRICE_ASC, page_size=2))
    body = json.loads(base64.urlsafe_b64decode(
        first.next_page_token + "=" * (-len(first.next_page_token) % 4)))
    nested = base64.urlsafe_b64encode(b"[" * 100_000 + b"]" * 100_000).decode()
    shallow_nested = base64.urlsafe_b64encode(b"[" * 700 + b"]" * 700).decode()
    crafted = [
        _crafted({**body, "k": 2**63}), _crafted({**body, "k": -(2**63) - 1}),
        _crafted({**body, "k": 10**400}), _crafted({**body, "k": -1}),
        _crafted({**body, "k": 1e308}), _crafted({**body, "k": {"$gt": 0}}),
        _crafted({**body, "i": {"$ne": None}}), nested, shallow_nested,
    ]
    for token in crafted:
        for call in (client.stub.ListBooks(pb.ListBooksRequest(
                         sort=pb.BOOK_SORT_PRICE_ASC, page_token=token)),
                     client.stub.SearchBooks(pb.SearchBooksRequest(
                         query="dune", sort=pb.BOOK_SORT_PRICE_ASC, page_token=token))):
            assert (await expect_invalid(call)).startswith("page_token:")
    resumed = await client.stub.ListBooks(pb.ListBooksRequest(
        sort=pb.BOOK_SORT_PRICE_ASC, page_size=2, page_token=first.next_page_token))
    assert resumed.books
