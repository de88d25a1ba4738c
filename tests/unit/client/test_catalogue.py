"""The sample catalogue is valid data the inventory service will accept."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from client import InvalidArgumentError, parse_row, read_rows, sample_catalogue


def isbn13_is_valid(isbn: str) -> bool:
    if len(isbn) != 13 or not isbn.isdigit() or not isbn.startswith(("978", "979")):
        return False
    total = sum(int(digit) * (3 if i % 2 else 1) for i, digit in enumerate(isbn[:12]))
    return (10 - total % 10) % 10 == int(isbn[12])


@pytest.fixture(scope="module")
def books() -> list[dict[str, Any]]:
    return sample_catalogue()


def test_check_digit_helper_spots_a_typo() -> None:
    assert isbn13_is_valid("9780441172719")
    assert not isbn13_is_valid("9780441172718")
    assert not isbn13_is_valid("9780441172791")


def test_at_least_fifty_books(books: list[dict[str, Any]]) -> None:
    assert len(books) >= 50


def test_every_isbn_has_a_valid_check_digit(books: list[dict[str, Any]]) -> None:
    bad = [book["isbn"] for book in books if not isbn13_is_valid(book["isbn"])]
    assert bad == []


def test_isbns_are_unique(books: list[dict[str, Any]]) -> None:
    isbns = [book["isbn"] for book in books]
    assert len(set(isbns)) == len(isbns)


def test_fields_are_complete_and_sane(books: list[dict[str, Any]]) -> None:
    for book in books:
        assert isinstance(book["price_cents"], int), book
        assert book["price_cents"] > 0, book
        assert isinstance(book["stock"], int), book
        assert book["stock"] >= 0, book
        assert book["title"].strip(), book
        assert book["author"].strip(), book
        assert book["description"].strip(), book
        assert 0 <= book["published_year"] <= datetime.now(UTC).year, book
        assert parse_row(book).isbn == book["isbn"]


def test_stock_varies_and_some_books_are_scarce(books: list[dict[str, Any]]) -> None:
    stocks = [book["stock"] for book in books]
    assert any(1 <= stock <= 3 for stock in stocks)
    assert len(set(stocks)) >= 10


def test_csv_rows_take_decimal_prices(tmp_path: Path) -> None:
    path = tmp_path / "books.csv"
    path.write_text("title,author,isbn,price,stock\nDune,Frank Herbert,9780441172719,10.99,4\n")
    row = parse_row(read_rows(path)[0])
    assert (row.price_cents, row.stock, row.published_year) == (1099, 4, 0)


def test_column_names_are_read_as_spreadsheets_write_them(tmp_path: Path) -> None:
    path = tmp_path / "books.csv"
    path.write_text(" Title ,AUTHOR,ISBN,Price,Stock,Published Year\n"
                    "Dune,Frank Herbert,9780441172719,10.99,4,1965\n")
    row = parse_row(read_rows(path)[0])
    assert (row.title, row.isbn, row.price_cents, row.stock, row.published_year) == (
        "Dune", "9780441172719", 1099, 4, 1965)


def test_json_rows_and_bad_files(tmp_path: Path) -> None:
    good = tmp_path / "books.json"
    good.write_text(json.dumps([{"title": "T", "author": "A", "isbn": "1", "price_cents": 5}]))
    assert read_rows(good)[0]["price_cents"] == 5
    for name, text in (("x.json", "{"), ("y.json", '{"a": 1}'), ("z.txt", "")):
        (tmp_path / name).write_text(text)
        with pytest.raises(InvalidArgumentError):
            read_rows(tmp_path / name)


@pytest.mark.parametrize("row", [
    {"author": "A", "isbn": "1", "price": "1"},
    {"title": "T", "author": "A", "isbn": "1", "price": "1.001"},
    {"title": "T", "author": "A", "isbn": "1", "price_cents": "12.5"},
    {"title": "T", "author": "A", "isbn": "1", "price": "1", "stock": "many"},
])
def test_bad_rows_are_rejected_before_sending(row: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgumentError):
        parse_row(row)
