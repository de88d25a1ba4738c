"""Line validation, merging and the price snapshot."""

from __future__ import annotations

import pytest

from orders.pricing import BookInfo, RequestedLine, merge_lines, price_lines, total_cents
from runtime.errors import InvalidArgument

BOOKS = {"a": BookInfo("a", "Alpha", 1250, 4), "b": BookInfo("b", "Beta", 999, 1)}


def test_repeated_books_are_merged_in_first_seen_order() -> None:
    assert merge_lines([("b", 1), (" a ", 2), ("b", 4)]) == (
        RequestedLine("b", 5), RequestedLine("a", 2))


@pytest.mark.parametrize(("lines", "field"), [
    ([], "lines"),
    ([("a", 1)] * 21, "lines"),
    ([("a", 1), ("b", 0)], "lines[1].quantity"),
    ([("a", 101)], "lines[0].quantity"),
    ([("a", -3)], "lines[0].quantity"),
    ([("a", 1), ("  ", 1)], "lines[1].book_id"),
    ([("x", 1), ("a", 60), ("a", 41)], "lines[1].quantity"),  # merged total over 100
])
def test_bad_lines_name_the_field(lines: list[tuple[str, int]], field: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        merge_lines(lines)
    assert info.value.field == field


def test_limits_themselves_are_allowed() -> None:
    assert len(merge_lines([(f"b{i}", 100) for i in range(20)])) == 20


def test_prices_come_from_the_catalogue() -> None:
    lines = price_lines([RequestedLine("a", 3), RequestedLine("b", 2)], BOOKS)
    assert [(line.title, line.unit_price_cents, line.line_total_cents) for line in lines] == [
        ("Alpha", 1250, 3750), ("Beta", 999, 1998)]
    assert total_cents(lines) == 5748


def test_stock_is_left_to_the_reservation() -> None:
    """Orders keeps no stock figure: any quantity within the limits is priced."""
    assert price_lines([RequestedLine("b", 100)], BOOKS)[0].line_total_cents == 99_900
