"""Reservation planning: merging an order's lines and spotting impossible ones."""

from __future__ import annotations

from inventory.reservations import (
    FailedLine,
    Line,
    Reason,
    invalid_lines,
    lines_from_documents,
    lines_to_documents,
    merge_lines,
)


def test_lines_for_one_book_are_summed_in_first_seen_order() -> None:
    merged = merge_lines([Line("b", 1), Line("a", 2), Line("b", 3)])
    assert merged == (Line("b", 4), Line("a", 2))


def test_quantities_below_one_are_invalid_after_merging() -> None:
    merged = merge_lines([Line("a", 0), Line("b", -2), Line("b", 1), Line("c", 1)])
    assert invalid_lines(merged) == (
        FailedLine("a", 0, 0, Reason.INVALID_QUANTITY),
        FailedLine("b", -1, 0, Reason.INVALID_QUANTITY))


def test_documents_round_trip() -> None:
    lines = (Line("a", 2), Line("b", 1))
    assert lines_from_documents(lines_to_documents(lines)) == lines
