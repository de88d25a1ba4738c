"""ISBN validation: accept ISBN-10 or ISBN-13 as people type them, store ISBN-13 digits.

Storing one canonical form is what lets the unique index catch the same book added twice,
once under its ISBN-10 and once under its ISBN-13.
"""

from __future__ import annotations

from runtime.errors import InvalidArgument

FIELD = "isbn"
_SEPARATORS = str.maketrans("", "", " -")


def normalize_isbn(raw: str) -> str:
    """The ISBN-13 digits for ``raw`` (ISBN-10 or -13, hyphens and spaces allowed).

    Raises :class:`InvalidArgument` when the length, characters or check digit are wrong.
    """
    compact = raw.strip().translate(_SEPARATORS).upper()
    if len(compact) == 13:
        if not compact.isdigit() or not compact.isascii():
            raise InvalidArgument(FIELD, "an ISBN-13 has 13 digits")
        if not compact.startswith(("978", "979")):
            raise InvalidArgument(FIELD, "an ISBN-13 starts with 978 or 979")
        if isbn13_check_digit(compact[:12]) != compact[12]:
            raise InvalidArgument(FIELD, "the ISBN-13 check digit is wrong")
        return compact
    if len(compact) == 10:
        body, check = compact[:9], compact[9]
        if not (body.isdigit() and body.isascii()) or not (check.isdigit() or check == "X"):
            raise InvalidArgument(FIELD, "an ISBN-10 has 9 digits and a digit or X")
        if isbn10_check_digit(body) != check:
            raise InvalidArgument(FIELD, "the ISBN-10 check digit is wrong")
        prefixed = "978" + body
        return prefixed + isbn13_check_digit(prefixed)
    raise InvalidArgument(FIELD, "expected an ISBN-10 or ISBN-13 (10 or 13 characters)")


def isbn13_check_digit(first12: str) -> str:
    """Weights alternate 1 and 3; the check digit brings the sum to a multiple of 10."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def isbn10_check_digit(first9: str) -> str:
    """Weights 10 down to 2; the check digit (X for 10) makes the sum divisible by 11."""
    total = sum(int(d) * (10 - i) for i, d in enumerate(first9))
    value = (11 - total % 11) % 11
    return "X" if value == 10 else str(value)
