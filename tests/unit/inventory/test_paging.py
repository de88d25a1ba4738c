"""Page tokens: round trips for every sort, and refusal of anything tampered or misplaced."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from inventory import paging
from inventory.model import Book, BookFilter, Cursor, Sort
from runtime.errors import InvalidArgument

BOOK_ID = "65a1b2c3d4e5f60718293a4b"
PRINT = paging.fingerprint(BookFilter(), (), Sort.TITLE)


def book() -> Book:
    at = datetime(2025, 3, 4, 5, 6, 7, 123000, tzinfo=UTC)
    return Book(id=BOOK_ID, title="Dune Messiah", author="Frank Herbert", isbn="9780306406157",
                price_cents=1299, description="", published_year=1969, initial_stock=1,
                added_stock=0, available=1, reserved=0, sold=0, created_at=at, updated_at=at)


@pytest.mark.parametrize(("sort", "key"), [
    (Sort.TITLE, "dune messiah"), (Sort.AUTHOR, "frank herbert"), (Sort.PRICE_ASC, 1299),
    (Sort.PRICE_DESC, 1299), (Sort.NEWEST, datetime(2025, 3, 4, 5, 6, 7, 123000, tzinfo=UTC)),
])
def test_round_trip_for_every_sort(sort: Sort, key: object) -> None:
    cursor = paging.cursor_after(book(), sort)
    assert cursor.key == key
    print_ = paging.fingerprint(BookFilter(), (), sort)
    token = paging.encode(cursor, print_)
    assert paging.decode(token, sort, print_) == cursor


def test_empty_token_means_first_page() -> None:
    assert paging.decode("", Sort.TITLE, PRINT) is None


def test_token_from_another_sort_is_refused() -> None:
    token = paging.encode(paging.cursor_after(book(), Sort.TITLE), PRINT)
    author_print = paging.fingerprint(BookFilter(), (), Sort.AUTHOR)
    with pytest.raises(InvalidArgument, match="another query"):
        paging.decode(token, Sort.AUTHOR, author_print)


def test_token_from_other_filters_is_refused() -> None:
    token = paging.encode(paging.cursor_after(book(), Sort.TITLE), PRINT)
    other = paging.fingerprint(BookFilter(author="herbert"), (), Sort.TITLE)
    with pytest.raises(InvalidArgument, match="another query"):
        paging.decode(token, Sort.TITLE, other)
    assert other != paging.fingerprint(BookFilter(), ("herbert",), Sort.TITLE)


def _forge(body: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode()


def _nested(depth: int) -> str:
    return base64.urlsafe_b64encode(b"[" * depth + b"]" * depth).decode()


@pytest.mark.parametrize("token", [
    "garbage!!", "bm90IGpzb24", _forge([1, 2]), _forge({"q": PRINT}),
    _forge({"q": PRINT, "k": "a", "i": "not-an-id"}),
    _forge({"q": PRINT, "k": 5, "i": BOOK_ID}),
    _forge({"q": PRINT, "k": "a", "i": BOOK_ID, "x": 1}),
    _forge({"q": PRINT, "k": ["a"], "i": BOOK_ID}),
    _forge({"q": PRINT, "k": "a" * 601, "i": BOOK_ID}),
    _forge({"v": 1, "s": "title", "f": PRINT, "k": "a", "i": BOOK_ID}),  # the old format
    _nested(100_000), _nested(600), "A" * 5000,
])
def test_tampered_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        paging.decode(token, Sort.TITLE, PRINT)
    assert caught.value.field == "page_token"


@pytest.mark.parametrize(("sort", "key"), [
    (Sort.PRICE_ASC, "12"), (Sort.PRICE_DESC, True), (Sort.NEWEST, "yesterday"),
    (Sort.NEWEST, 10**30), (Sort.NEWEST, -1), (Sort.PRICE_ASC, 2**63), (Sort.PRICE_DESC, -5),
    (Sort.PRICE_ASC, 100_000_001), (Sort.PRICE_ASC, 1.5),
])
def test_key_out_of_range_or_of_the_wrong_type_is_refused(sort: Sort, key: object) -> None:
    print_ = paging.fingerprint(BookFilter(), (), sort)
    token = _forge({"q": print_, "k": key, "i": BOOK_ID})
    with pytest.raises(InvalidArgument, match="damaged"):
        paging.decode(token, sort, print_)


def test_decoded_cursor_keeps_the_book_id() -> None:
    print_ = paging.fingerprint(BookFilter(), (), Sort.PRICE_ASC)
    token = _forge({"q": print_, "k": 10, "i": BOOK_ID})
    assert paging.decode(token, Sort.PRICE_ASC, print_) == Cursor(Sort.PRICE_ASC, 10, BOOK_ID)
