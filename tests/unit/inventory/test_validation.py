"""Input rules for books, updates, filters, searches and paging."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from inventory import validation
from inventory.model import AdjustAvailable, BookChanges, SetAvailable
from runtime.errors import InvalidArgument


def new_book(**overrides: Any) -> Any:
    fields: dict[str, Any] = {
        "title": "  Dune ", "author": " Frank Herbert ", "isbn": "0-306-40615-2",
        "price_cents": 1299, "stock_count": 3, "description": " classic ", "year": 1965}
    return validation.new_book(**(fields | overrides))


def test_new_book_is_trimmed_and_normalized() -> None:
    book = new_book()
    assert (book.title, book.author, book.isbn, book.description) == (
        "Dune", "Frank Herbert", "9780306406157", "classic")
    assert (book.price_cents, book.stock, book.published_year) == (1299, 3, 1965)


@pytest.mark.parametrize(("overrides", "field"), [
    ({"title": "   "}, "title"),
    ({"title": "x" * (validation.MAX_TITLE + 1)}, "title"),
    ({"author": ""}, "author"),
    ({"isbn": "123"}, "isbn"),
    ({"price_cents": -1}, "price_cents"),
    ({"price_cents": validation.MAX_PRICE_CENTS + 1}, "price_cents"),
    ({"stock_count": -1}, "stock"),
    ({"description": "d" * (validation.MAX_DESCRIPTION + 1)}, "description"),
    ({"year": 1449}, "published_year"),
    ({"year": -5}, "published_year"),
    ({"year": datetime.now(UTC).year + 2}, "published_year"),
])
def test_new_book_rules(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        new_book(**overrides)
    assert caught.value.field == field


def test_edge_values_are_accepted() -> None:
    book = new_book(price_cents=0, stock_count=0, year=0, description="")
    assert (book.price_cents, book.stock, book.published_year) == (0, 0, 0)
    assert new_book(year=datetime.now(UTC).year + 1).published_year == datetime.now(UTC).year + 1


def test_empty_update_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="nothing to update"):
        validation.book_changes(BookChanges())


@pytest.mark.parametrize(("changes", "field"), [
    (BookChanges(title=" "), "title"),
    (BookChanges(price_cents=-5), "price_cents"),
    (BookChanges(stock=SetAvailable(-1)), "set_available"),
    (BookChanges(stock=AdjustAvailable(0)), "adjust_available"),
    (BookChanges(stock=AdjustAvailable(-validation.MAX_STOCK - 1)), "adjust_available"),
])
def test_update_rules(changes: BookChanges, field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        validation.book_changes(changes)
    assert caught.value.field == field


def test_update_is_trimmed_and_keeps_unset_fields_unset() -> None:
    checked = validation.book_changes(BookChanges(author=" Ann ", stock=AdjustAvailable(-2)))
    assert checked == BookChanges(author="Ann", stock=AdjustAvailable(-2))


def test_quantity_defaults_to_one_and_refuses_negatives() -> None:
    assert validation.quantity(0) == 1
    assert validation.quantity(7) == 7
    with pytest.raises(InvalidArgument, match="quantity"):
        validation.quantity(-1)


def test_filter_lower_cases_author_and_checks_prices() -> None:
    flt = validation.book_filter(author=" Le Guin ", min_price=0, max_price=0,
                                 in_stock_only=True)
    assert (flt.author, flt.min_price_cents, flt.max_price_cents) == ("le guin", 0, 0)
    with pytest.raises(InvalidArgument, match="max_price_cents"):
        validation.book_filter(author="", min_price=10, max_price=9, in_stock_only=False)
    with pytest.raises(InvalidArgument, match="min_price_cents"):
        validation.book_filter(author="", min_price=-1, max_price=None, in_stock_only=False)


def test_search_words() -> None:
    assert validation.search_words("  Dune  dune HERBERT ") == ("dune", "herbert")
    with pytest.raises(InvalidArgument, match="query"):
        validation.search_words("   ")
    with pytest.raises(InvalidArgument, match="at most"):
        validation.search_words(" ".join(f"w{i}" for i in range(11)))
