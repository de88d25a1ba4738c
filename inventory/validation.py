"""Rules every catalogue input must follow, checked before anything touches the database.

Each check raises :class:`InvalidArgument` naming the field, so a caller knows what to fix.
"""

from __future__ import annotations

from datetime import UTC, datetime

from inventory.isbn import normalize_isbn
from inventory.model import AdjustAvailable, BookChanges, BookFilter, NewBook, StockChange
from runtime.errors import InvalidArgument

MAX_TITLE = 300
MAX_AUTHOR = 200
MAX_DESCRIPTION = 5000
MAX_PRICE_CENTS = 100_000_000  # 1,000,000.00
MAX_STOCK = 10_000_000
FIRST_PRINTED_YEAR = 1450
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_QUERY = 200
MAX_QUERY_WORDS = 10


def text(value: str, field: str, limit: int, *, required: bool = True) -> str:
    """``value`` trimmed; required text may not be blank, and none may exceed ``limit``."""
    trimmed = value.strip()
    if required and not trimmed:
        raise InvalidArgument(field, "must not be empty")
    if len(trimmed) > limit:
        raise InvalidArgument(field, f"must be at most {limit} characters")
    return trimmed


def price(value: int, field: str = "price_cents") -> int:
    if not 0 <= value <= MAX_PRICE_CENTS:
        raise InvalidArgument(field, f"must be between 0 and {MAX_PRICE_CENTS} cents")
    return value


def stock(value: int, field: str = "stock") -> int:
    if not 0 <= value <= MAX_STOCK:
        raise InvalidArgument(field, f"must be between 0 and {MAX_STOCK}")
    return value


def published_year(value: int, *, now: datetime | None = None) -> int:
    """0 means unknown; otherwise from the first printed books to next year (announced ones)."""
    latest = (now or datetime.now(UTC)).year + 1
    if value != 0 and not FIRST_PRINTED_YEAR <= value <= latest:
        raise InvalidArgument(
            "published_year", f"must be 0 (unknown) or between {FIRST_PRINTED_YEAR} and {latest}")
    return value


def new_book(
    *, title: str, author: str, isbn: str, price_cents: int, stock_count: int,
    description: str, year: int,
) -> NewBook:
    return NewBook(
        title=text(title, "title", MAX_TITLE),
        author=text(author, "author", MAX_AUTHOR),
        isbn=normalize_isbn(isbn),
        price_cents=price(price_cents),
        stock=stock(stock_count),
        description=text(description, "description", MAX_DESCRIPTION, required=False),
        published_year=published_year(year),
    )


def book_changes(changes: BookChanges) -> BookChanges:
    """The same changes, checked and trimmed; an update that changes nothing is refused."""
    if changes == BookChanges():
        raise InvalidArgument("book", "nothing to update: set at least one field")
    return BookChanges(
        title=None if changes.title is None else text(changes.title, "title", MAX_TITLE),
        author=None if changes.author is None else text(changes.author, "author", MAX_AUTHOR),
        price_cents=None if changes.price_cents is None else price(changes.price_cents),
        description=None if changes.description is None else text(
            changes.description, "description", MAX_DESCRIPTION, required=False),
        published_year=None if changes.published_year is None else published_year(
            changes.published_year),
        stock=None if changes.stock is None else stock_change(changes.stock),
    )


def stock_change(change: StockChange) -> StockChange:
    if isinstance(change, AdjustAvailable):
        if change.delta == 0 or abs(change.delta) > MAX_STOCK:
            raise InvalidArgument(
                "adjust_available", f"must be non-zero and at most {MAX_STOCK} either way")
        return change
    stock(change.value, "set_available")
    return change


def quantity(value: int) -> int:
    """How many copies an availability check asks about; 0 means the default, one."""
    if value < 0:
        raise InvalidArgument("quantity", "must not be negative")
    return value or 1




def book_filter(
    *, author: str, min_price: int | None, max_price: int | None, in_stock_only: bool,
) -> BookFilter:
    if min_price is not None:
        price(min_price, "filter.min_price_cents")
    if max_price is not None:
        price(max_price, "filter.max_price_cents")
    if min_price is not None and max_price is not None and min_price > max_price:
        raise InvalidArgument("filter.max_price_cents", "must not be below min_price_cents")
    return BookFilter(
        author=text(author, "filter.author", MAX_AUTHOR, required=False).lower(),
        min_price_cents=min_price, max_price_cents=max_price, in_stock_only=in_stock_only)


def search_words(query: str) -> tuple[str, ...]:
    """The distinct lower-cased words of a search; at least one is needed."""
    words = tuple(dict.fromkeys(text(query, "query", MAX_QUERY).lower().split()))
    if len(words) > MAX_QUERY_WORDS:
        raise InvalidArgument("query", f"use at most {MAX_QUERY_WORDS} words")
    return words
