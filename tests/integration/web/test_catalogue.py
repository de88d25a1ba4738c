"""The catalogue and book pages, rendered from the inventory service's answers."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

from starlette.testclient import TestClient

from tests.stack import Stack
from tests.storefront import add_books, unique_word

BOOK_LINK = re.compile(r'<h2><a href="/books/([^"]+)">')


def test_search_finds_books_by_a_word_of_their_title(shop: TestClient, stack: Stack) -> None:
    word = unique_word()
    books = add_books(stack, (f"The {word} Atlas", 1250, 3), (f"{word} Stories", 990, 1))
    reply = shop.get("/", params={"q": word})
    assert reply.status_code == 200
    assert f"<title>“{word}” in the catalogue · Bookstore</title>" in reply.text
    assert set(BOOK_LINK.findall(reply.text)) == {book.id for book in books}
    assert "12.50" in reply.text
    assert "9.90" in reply.text


def test_sort_by_price_puts_the_cheapest_first(shop: TestClient, stack: Stack) -> None:
    word = unique_word()
    dear, cheap = add_books(stack, (f"{word} Dear", 5000, 1), (f"{word} Cheap", 500, 1))
    ascending = BOOK_LINK.findall(shop.get("/", params={"q": word, "sort": "price"}).text)
    descending = BOOK_LINK.findall(shop.get("/", params={"q": word, "sort": "price-desc"}).text)
    assert ascending == [cheap.id, dear.id]
    assert descending == [dear.id, cheap.id]


def test_the_author_filter_and_paging_walk_every_book_once(shop: TestClient,
                                                           stack: Stack) -> None:
    word = unique_word()
    books = add_books(stack, *[(f"{word} Volume {n:02d}", 1000 + n, 1) for n in range(14)])
    seen: list[str] = []
    url = "/?" + f"q={word}&author=E2E+Author"
    for _ in range(3):
        reply = shop.get(url)
        seen += BOOK_LINK.findall(reply.text)
        nxt = re.search(r'<a href="([^"]+)" rel="next">', reply.text)
        if not nxt:
            break
        url = nxt.group(1).replace("&amp;", "&")
        assert parse_qs(urlparse(url).query)["q"] == [word]  # the search survives paging
    assert sorted(seen) == sorted(book.id for book in books)
    assert len(seen) == len(set(seen)) == 14
    other = shop.get("/", params={"q": word, "author": "Nobody Of That Name"})
    assert BOOK_LINK.findall(other.text) == []
    assert "No books match" in other.text


def test_a_book_page_shows_its_availability(shop: TestClient, stack: Stack) -> None:
    [book] = add_books(stack, (f"{unique_word()} Field Guide", 2400, 7))
    reply = shop.get(f"/books/{book.id}")
    assert reply.status_code == 200
    assert f"<title>{book.title} · Bookstore</title>" in reply.text
    assert '<dd id="availability">7 in stock</dd>' in reply.text
    assert 'action="/cart/add"' in reply.text


def test_an_out_of_stock_book_offers_no_cart_form(shop: TestClient, stack: Stack) -> None:
    [book] = add_books(stack, (f"{unique_word()} Sold Out", 2400, 0))
    reply = shop.get(f"/books/{book.id}")
    assert '<dd id="availability">Out of stock</dd>' in reply.text
    assert 'action="/cart/add"' not in reply.text


def test_text_from_the_services_is_escaped(shop: TestClient, stack: Stack) -> None:
    word = unique_word()
    [book] = add_books(stack, (f"{word} <script>alert('x')</script>", 100, 1))
    for reply in (shop.get("/", params={"q": word}), shop.get(f"/books/{book.id}")):
        assert "<script>alert" not in reply.text
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in reply.text


def test_an_unknown_book_is_a_not_found_page(shop: TestClient) -> None:
    reply = shop.get("/books/000000000000000000000000")
    assert reply.status_code == 404
    assert "<h1>Not found</h1>" in reply.text
