"""ISBN-10/13 parsing: check digits, conversion to ISBN-13, and refusal of junk."""

from __future__ import annotations

import pytest

from inventory.isbn import isbn10_check_digit, isbn13_check_digit, normalize_isbn
from runtime.errors import InvalidArgument


@pytest.mark.parametrize(("raw", "expected"), [
    ("9780306406157", "9780306406157"),
    ("978-0-306-40615-7", "9780306406157"),
    (" 978 0 306 40615 7 ", "9780306406157"),
    ("9791090636071", "9791090636071"),
])
def test_valid_isbn13_is_kept_as_digits(raw: str, expected: str) -> None:
    assert normalize_isbn(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("0306406152", "9780306406157"),
    ("0-306-40615-2", "9780306406157"),
    ("080442957X", "9780804429573"),
    ("080442957x", "9780804429573"),
])
def test_valid_isbn10_becomes_isbn13(raw: str, expected: str) -> None:
    assert normalize_isbn(raw) == expected


@pytest.mark.parametrize("raw", ["9780306406158", "0306406153", "0804429579"])
def test_wrong_check_digit_is_refused(raw: str) -> None:
    with pytest.raises(InvalidArgument, match="check digit"):
        normalize_isbn(raw)


@pytest.mark.parametrize("raw", [
    "", "abc", "12345", "978030640615", "97803064061577", "97803064O6157", "X306406152",
    "1234567890123",  # 13 digits without the 978/979 prefix
    "٩٧٨٠٣٠٦٤٠٦١٥٧",  # Arabic-Indic digits pass str.isdigit but are no ISBN
])
def test_junk_is_refused(raw: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        normalize_isbn(raw)
    assert caught.value.field == "isbn"


def test_check_digit_helpers() -> None:
    assert isbn13_check_digit("978030640615") == "7"
    assert isbn10_check_digit("030640615") == "2"
    assert isbn10_check_digit("080442957") == "X"
