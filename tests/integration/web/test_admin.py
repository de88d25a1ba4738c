"""Catalogue writes through the storefront: admins only."""

from __future__ import annotations

from collections.abc import Callable

from starlette.testclient import TestClient

from tests.e2e.shop import fresh_isbn
from tests.integration.web.conftest import log_in_as_admin, register, submit
from tests.stack import Stack
from tests.storefront import add_books, unique_word


def test_a_customer_may_not_open_the_admin_pages(shop: TestClient, stack: Stack) -> None:
    [book] = add_books(stack, (f"{unique_word()} Guarded", 800, 5))
    register(shop)
    for path in ("/admin/books/new", f"/admin/books/{book.id}/edit"):
        reply = shop.get(path)
        assert reply.status_code == 403, path
        assert "<h1>Not allowed</h1>" in reply.text


def test_an_anonymous_visitor_is_sent_to_log_in(shop: TestClient) -> None:
    reply = shop.get("/admin/books/new", follow_redirects=False)
    assert reply.status_code == 303
    assert reply.headers["location"] == "/login?next=%2Fadmin%2Fbooks%2Fnew"


def test_an_admin_adds_a_book_and_changes_its_price_and_stock(shop: TestClient) -> None:
    log_in_as_admin(shop)
    title = f"{unique_word()} Almanac"
    added = submit(shop, "/admin/books/new", "/admin/books/new", {
        "title": title, "author": "Web Admin", "isbn": fresh_isbn(), "price": "19.99",
        "stock": "4", "description": "A year in pages.", "published_year": "2024"})
    assert added.status_code == 200, added.text
    assert f"<h1>{title}</h1>" in added.text
    assert '<dd id="availability">4 in stock</dd>' in added.text
    book_path = added.url.path
    edit = f"/admin/books/{book_path.removeprefix('/books/')}/edit"
    form = shop.get(edit).text
    assert 'value="19.99"' in form
    changed = submit(shop, edit, edit, {"title": title, "author": "Web Admin", "price": "21.50",
                                         "stock": "9", "stock_was": "4", "description": "",
                                         "published_year": "2024"})
    assert "The book is updated." in changed.text
    assert '<dd class="price">21.50</dd>' in changed.text
    assert '<dd id="availability">9 in stock</dd>' in changed.text


def test_a_bad_price_shows_the_form_again(make_shop: Callable[[], TestClient]) -> None:
    admin = make_shop()
    log_in_as_admin(admin)
    reply = submit(admin, "/admin/books/new", "/admin/books/new", {
        "title": "Priceless", "author": "Nobody", "isbn": "9780000000000", "price": "12.345",
        "stock": "1", "description": "", "published_year": ""})
    assert reply.status_code == 400
    assert "at most 2 decimals" in reply.text
    assert 'value="Priceless"' in reply.text
