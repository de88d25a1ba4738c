"""Page sizes and opaque keyset tokens."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orders.paging import DEFAULT_PAGE_SIZE, Position, decode_token, encode_token, page_size
from runtime.errors import InvalidArgument


def test_page_size_defaults_and_bounds() -> None:
    assert page_size(0) == DEFAULT_PAGE_SIZE == 20
    assert page_size(1) == 1
    assert page_size(100) == 100
    for bad in (101, -1):
        with pytest.raises(InvalidArgument) as info:
            page_size(bad)
        assert info.value.field == "page_size"


def test_token_round_trips_to_the_millisecond() -> None:
    position = Position(datetime(2031, 5, 17, 8, 30, 1, 123000, tzinfo=UTC), "0af3")
    token = encode_token(position)
    assert decode_token(token) == position
    assert "=" not in token
    assert "0af3" not in token


def test_empty_token_is_the_first_page() -> None:
    assert decode_token("") is None


@pytest.mark.parametrize("token", ["garbage!", "e30", "eyJ0IjoiMSIsImkiOiJ4In0", "%%%"])
def test_foreign_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        decode_token(token)
    assert info.value.field == "page_token"
