"""Text people type, turned into what the services take: prices in cents, order lines.

Money goes through :class:`~decimal.Decimal` only: a float cannot hold 0.1 exactly, and a
price that rounds differently on each machine is a bug nobody finds until reconciliation.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from client._errors import InvalidArgumentError

_CENT = Decimal("0.01")


def parse_price(text: str) -> int:
    """Cents for a price typed as ``12``, ``12.5`` or ``12.50``; 3+ decimals are an error."""
    raw = text.strip()
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise InvalidArgumentError(f"not a price: {text!r} (expected e.g. 12.50)") from None
    if not amount.is_finite():
        raise InvalidArgumentError(f"not a price: {text!r} (expected e.g. 12.50)")
    if amount < 0:
        raise InvalidArgumentError(f"a price cannot be negative: {text!r}")
    if amount != amount.quantize(_CENT):
        raise InvalidArgumentError(f"a price has at most 2 decimals: {text!r}")
    return int(amount.quantize(_CENT) * 100)


def format_cents(cents: int) -> str:
    """``1250`` → ``"12.50"``: exact, with a thousands separator for large sums."""
    sign = "-" if cents < 0 else ""
    whole, fraction = divmod(abs(cents), 100)
    return f"{sign}{whole:,}.{fraction:02d}"


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One line of an order to place: a book and how many copies."""

    book_id: str
    quantity: int = 1


def parse_line(text: str) -> OrderLine:
    """``BOOK_ID`` (one copy) or ``BOOK_ID:QTY`` with a whole QTY of at least 1."""
    book_id, sep, qty = text.strip().partition(":")
    book_id = book_id.strip()
    if not book_id:
        raise InvalidArgumentError(f"{text!r}: expected BOOK_ID or BOOK_ID:QTY")
    if not sep:
        return OrderLine(book_id)
    qty = qty.strip()
    if not (qty.isascii() and qty.isdigit()):
        raise InvalidArgumentError(f"{text!r}: the quantity after ':' must be a whole number")
    quantity = int(qty)
    if quantity < 1:
        raise InvalidArgumentError(f"{text!r}: the quantity must be at least 1")
    return OrderLine(book_id, quantity)


def parse_lines(items: list[str]) -> list[OrderLine]:
    """Every ``BOOK_ID[:QTY]``, with repeated books merged into one line, first one first."""
    if not items:
        raise InvalidArgumentError("an order needs at least one BOOK_ID[:QTY]")
    totals: dict[str, int] = {}
    for item in items:
        line = parse_line(item)
        totals[line.book_id] = totals.get(line.book_id, 0) + line.quantity
    return [OrderLine(book_id, quantity) for book_id, quantity in totals.items()]
