"""Prices and order lines as people type them."""

from __future__ import annotations

import pytest

from client import (
    InvalidArgumentError,
    OrderLine,
    format_cents,
    parse_line,
    parse_lines,
    parse_price,
)


@pytest.mark.parametrize(("text", "cents"), [
    ("12.50", 1250), ("12.5", 1250), ("12", 1200), ("0", 0), ("0.01", 1), (" 7.05 ", 705),
    ("0.10", 10), ("1000000.99", 100000099), ("12.500", 1250),
])
def test_prices_become_exact_cents(text: str, cents: int) -> None:
    assert parse_price(text) == cents


@pytest.mark.parametrize("text", ["0.001", "12.345", "-1", "abc", "", "NaN", "Infinity", "1e"])
def test_bad_prices_are_rejected(text: str) -> None:
    with pytest.raises(InvalidArgumentError):
        parse_price(text)


def test_a_float_trap_stays_exact() -> None:
    # 0.1 + 0.2 style values would drift through float; Decimal keeps them exact.
    assert parse_price("0.29") == 29
    assert parse_price("1.15") == 115
    assert parse_price("4.35") == 435


@pytest.mark.parametrize(("cents", "text"), [
    (0, "0.00"), (5, "0.05"), (1250, "12.50"), (100000099, "1,000,000.99"), (-705, "-7.05"),
])
def test_cents_are_formatted_exactly(cents: int, text: str) -> None:
    assert format_cents(cents) == text


def test_format_and_parse_round_trip() -> None:
    for cents in (0, 1, 99, 100, 1999, 123456):
        assert parse_price(format_cents(cents).replace(",", "")) == cents


@pytest.mark.parametrize(("text", "line"), [
    ("abc", OrderLine("abc", 1)), ("abc:3", OrderLine("abc", 3)),
    (" abc : 12 ", OrderLine("abc", 12)),
])
def test_order_lines(text: str, line: OrderLine) -> None:
    assert parse_line(text) == line


@pytest.mark.parametrize("text", ["", ":", ":3", "abc:", "abc:x", "abc:0", "abc:-1",
                                  "abc:1.5", "abc:1:2", "abc:٣"])
def test_bad_order_lines(text: str) -> None:
    with pytest.raises(InvalidArgumentError):
        parse_line(text)


def test_repeated_books_are_merged_in_order() -> None:
    assert parse_lines(["b:2", "a", "b"]) == [OrderLine("b", 3), OrderLine("a", 1)]


def test_an_order_needs_a_line() -> None:
    with pytest.raises(InvalidArgumentError):
        parse_lines([])
