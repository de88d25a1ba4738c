"""The catalogue's domain types, free of gRPC and MongoDB so every layer can share them."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class Sort(enum.Enum):
    """Catalogue orders; each ends with the book id so the order is total and pages are stable."""

    TITLE = "title"
    AUTHOR = "author"
    PRICE_ASC = "price_asc"
    PRICE_DESC = "price_desc"
    NEWEST = "newest"


@dataclass(frozen=True, slots=True)
class NewBook:
    title: str
    author: str
    isbn: str  # ISBN-13 digits
    price_cents: int
    stock: int
    description: str
    published_year: int  # 0 when unknown


@dataclass(frozen=True, slots=True)
class SetAvailable:
    """Make exactly ``value`` copies available."""

    value: int


@dataclass(frozen=True, slots=True)
class AdjustAvailable:
    """Add ``delta`` copies (negative removes them)."""

    delta: int


StockChange = SetAvailable | AdjustAvailable


@dataclass(frozen=True, slots=True)
class BookChanges:
    """A partial update: ``None`` leaves a field as it is."""

    title: str | None = None
    author: str | None = None
    price_cents: int | None = None
    description: str | None = None
    published_year: int | None = None
    stock: StockChange | None = None


@dataclass(frozen=True, slots=True)
class Book:
    id: str
    title: str
    author: str
    isbn: str
    price_cents: int
    description: str
    published_year: int
    initial_stock: int
    added_stock: int
    available: int
    reserved: int
    sold: int
    created_at: datetime
    updated_at: datetime
    version: int = 0  # grows with every admin write; catalogue events carry it


@dataclass(frozen=True, slots=True)
class BookFilter:
    author: str = ""  # lower-cased; matched anywhere in the author's name
    min_price_cents: int | None = None
    max_price_cents: int | None = None
    in_stock_only: bool = False


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where the previous page ended: its last book's sort key and id."""

    sort: Sort
    key: str | int | datetime
    book_id: str


@dataclass(frozen=True, slots=True)
class BookQuery:
    filter: BookFilter
    words: tuple[str, ...]  # lower-cased; each must occur in the title or the author
    sort: Sort
    page_size: int
    after: Cursor | None = None


@dataclass(frozen=True, slots=True)
class Page:
    books: list[Book]
    next_cursor: Cursor | None


@dataclass(frozen=True, slots=True)
class InvariantViolation:
    book_id: str
    initial_plus_added: int
    available: int
    reserved: int
    sold: int


@dataclass(frozen=True, slots=True)
class InvariantReport:
    books_checked: int
    violations: list[InvariantViolation]
