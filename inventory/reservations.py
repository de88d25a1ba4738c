"""Reservation planning, free of IO: the lines an order asks for and the outcomes it can get.

A reservation document per order records where its copies are, and moves only forward:

    (none) ──OrderPlaced──▶ held ──OrderConfirmed──▶ sold
      │          └─(a line fails)─▶ rejected   held ──OrderCancelled──▶ released
      │                                        held ──hold timeout──▶ expired
      └──OrderCancelled──▶ cancelled   (a tombstone: a later OrderPlaced holds nothing)

An expired hold is never sold: its copies went back on sale, and a late OrderConfirmed finds
nothing held (orders, told by StockRejected HOLD_EXPIRED, cancels and refunds the order).

Every change names the state it leaves in its filter, so a duplicate or late event finds
nothing to change and does nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class State(enum.StrEnum):
    HELD = "held"
    SOLD = "sold"
    RETURNED = "returned"  # sold, then the order was cancelled before shipping: back on sale
    RELEASED = "released"
    EXPIRED = "expired"  # held past the hold timeout: released by inventory itself
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class Reason(enum.Enum):
    UNKNOWN_BOOK = "unknown_book"
    INSUFFICIENT_STOCK = "insufficient_stock"
    ORDER_CANCELLED = "order_cancelled"
    INVALID_QUANTITY = "invalid_quantity"


@dataclass(frozen=True, slots=True)
class Line:
    book_id: str
    quantity: int


@dataclass(frozen=True, slots=True)
class FailedLine:
    book_id: str
    requested: int
    available: int  # copies available when the order was turned down
    reason: Reason


@dataclass(frozen=True, slots=True)
class Reserved:
    order_id: str
    lines: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class Rejected:
    order_id: str
    lines: tuple[FailedLine, ...]


Outcome = Reserved | Rejected


class CancelResult(enum.Enum):
    RELEASED = "released"  # held copies went back on sale
    RESTOCKED = "restocked"  # sold copies of an order cancelled before shipping went back
    TOMBSTONED = "tombstoned"  # nothing held yet; a later OrderPlaced will hold nothing
    IGNORED = "ignored"  # already released, returned, rejected or cancelled


def merge_lines(lines: Iterable[Line]) -> tuple[Line, ...]:
    """One line per book, quantities summed, in first-seen order.

    Two lines for one book must be checked against the stock together: checked apart, each
    could pass while their sum exceeds what is available.
    """
    totals: dict[str, int] = {}
    for line in lines:
        totals[line.book_id] = totals.get(line.book_id, 0) + line.quantity
    return tuple(Line(book_id, quantity) for book_id, quantity in totals.items())


def invalid_lines(lines: Iterable[Line]) -> tuple[FailedLine, ...]:
    """Lines no stock can satisfy: a quantity below one (merged lines, so sums count)."""
    return tuple(FailedLine(line.book_id, line.quantity, 0, Reason.INVALID_QUANTITY)
                 for line in lines if line.quantity < 1)


def lines_from_documents(docs: Iterable[dict[str, object]]) -> tuple[Line, ...]:
    return tuple(Line(str(d["book_id"]), int(str(d["quantity"]))) for d in docs)


def lines_to_documents(lines: Iterable[Line]) -> list[dict[str, object]]:
    return [{"book_id": line.book_id, "quantity": line.quantity} for line in lines]
