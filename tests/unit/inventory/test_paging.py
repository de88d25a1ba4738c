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
PRINT = paging.fingerprint(BookFilter(), ())


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
    token = paging.encode(cursor, PRINT)
    assert paging.decode(token, sort, PRINT) == cursor


def test_empty_token_means_first_page() -> None:
    assert paging.decode("", Sort.TITLE, PRINT) is None


def test_token_from_another_sort_is_refused() -> None:
    token = paging.encode(paging.cursor_after(book(), Sort.TITLE), PRINT)
    with pytest.raises(InvalidArgument, match="another sort"):
        paging.decode(token, Sort.AUTHOR, PRINT)


def test_token_from_other_filters_is_refused() -> None:
    token = paging.encode(paging.cursor_after(book(), Sort.TITLE), PRINT)
    other = paging.fingerprint(BookFilter(author="herbert"), ())
    with pytest.raises(InvalidArgument, match="other filters"):
        paging.decode(token, Sort.TITLE, other)
    assert other != paging.fingerprint(BookFilter(), ("herbert",))


def _forge(body: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode()


@pytest.mark.parametrize("token", [
    "garbage!!", "bm90IGpzb24", _forge([1, 2]), _forge({"v": 1}),
    _forge({"v": 1, "s": "title", "f": PRINT, "k": "a", "i": "not-an-id"}),
    _forge({"v": 1, "s": "title", "f": PRINT, "k": 5, "i": BOOK_ID}),
    _forge({"v": 1, "s": "title", "f": PRINT, "k": "a", "i": BOOK_ID, "x": 1}),
    _forge({"v": 2, "s": "title", "f": PRINT, "k": "a", "i": BOOK_ID}),
])
def test_tampered_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        paging.decode(token, Sort.TITLE, PRINT)
    assert caught.value.field == "page_token"


@pytest.mark.parametrize(("sort", "key"), [
    (Sort.PRICE_ASC, "12"), (Sort.PRICE_DESC, True), (Sort.NEWEST, "yesterday"),
    (Sort.NEWEST, 10**30),
])
def test_key_of_the_wrong_type_is_refused(sort: Sort, key: object) -> None:
    token = _forge({"v": 1, "s": sort.value, "f": PRINT, "k": key, "i": BOOK_ID})
    with pytest.raises(InvalidArgument, match="damaged"):
        paging.decode(token, sort, PRINT)


def test_decoded_cursor_keeps_the_book_id() -> None:
    token = _forge({"v": 1, "s": "price_asc", "f": PRINT, "k": 10, "i": BOOK_ID})
    assert paging.decode(token, Sort.PRICE_ASC, PRINT) == Cursor(Sort.PRICE_ASC, 10, BOOK_ID)
