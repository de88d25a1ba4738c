"""Turning what a customer asked for into priced order lines: pure, so it is tested alone.

Lines for the same book are merged (quantities added) before anything else, so an order holds
each book once and inventory reserves it once. Prices and titles come from the catalogue only;
a client never sends a price.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from orders.model import OrderLine
from runtime.errors import InvalidArgument

MAX_LINES = 20
MAX_QUANTITY = 100


@dataclass(frozen=True, slots=True)
class RequestedLine:
    book_id: str
    quantity: int


@dataclass(frozen=True, slots=True)
class BookInfo:
    """What the order needs to know about a book: the catalogue entry orders keeps of it."""

    id: str
    title: str
    price_cents: int
    version: int = 0  # inventory's version of the book; a newer one replaces an older one


def merge_lines(raw: Sequence[tuple[str, int]]) -> tuple[RequestedLine, ...]:
    """Validate ``(book_id, quantity)`` pairs and merge repeats; errors name the field."""
    if not raw:
        raise InvalidArgument("lines", "an order needs at least one line")
    if len(raw) > MAX_LINES:
        raise InvalidArgument("lines", f"at most {MAX_LINES} lines per order, not {len(raw)}")
    totals: dict[str, int] = {}
    first_index: dict[str, int] = {}
    for index, (raw_id, quantity) in enumerate(raw):
        book_id = raw_id.strip()
        if not book_id:
            raise InvalidArgument(f"lines[{index}].book_id", "must name a book")
        if not 1 <= quantity <= MAX_QUANTITY:
            raise InvalidArgument(
                f"lines[{index}].quantity", f"must be 1..{MAX_QUANTITY}, not {quantity}")
        first_index.setdefault(book_id, index)
        totals[book_id] = totals.get(book_id, 0) + quantity
    for book_id, quantity in totals.items():
        if quantity > MAX_QUANTITY:
            raise InvalidArgument(
                f"lines[{first_index[book_id]}].quantity",
                f"book {book_id} is ordered {quantity} times in all; at most {MAX_QUANTITY}")
    return tuple(RequestedLine(book_id, quantity) for book_id, quantity in totals.items())


def price_lines(
    lines: Sequence[RequestedLine], books: Mapping[str, BookInfo]
) -> tuple[OrderLine, ...]:
    """Snapshot title and unit price per line: the order costs what the catalogue said when
    it was placed. Stock is not checked here; the saga's reservation is the only judge."""
    priced = []
    for line in lines:
        book = books[line.book_id]
        priced.append(OrderLine(book_id=book.id, title=book.title, quantity=line.quantity,
                                unit_price_cents=book.price_cents))
    return tuple(priced)


def total_cents(lines: Sequence[OrderLine]) -> int:
    return sum(line.line_total_cents for line in lines)
