"""Page sizes and opaque keyset tokens."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from orders.paging import (
    Position,
    decode_token,
    encode_token,
    history_of,
)
from runtime.errors import InvalidArgument

ORDER_ID = "0af3" * 8
MINE = history_of("u-1")


def test_token_round_trips_to_the_millisecond() -> None:
    position = Position(datetime(2031, 5, 17, 8, 30, 1, 123000, tzinfo=UTC), ORDER_ID)
    token = encode_token(position, MINE)
    assert decode_token(token, MINE) == position
    assert "=" not in token
    assert ORDER_ID not in token


def test_empty_token_is_the_first_page() -> None:
    assert decode_token("", MINE) is None


def test_token_for_another_users_history_is_refused() -> None:
    token = encode_token(Position(datetime(2031, 5, 17, tzinfo=UTC), ORDER_ID), MINE)
    with pytest.raises(InvalidArgument, match="another query") as info:
        decode_token(token, history_of("u-2"))
    assert info.value.field == "page_token"


def _forge(body: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode()


@pytest.mark.parametrize("token", [
    "garbage!", "e30", "eyJ0IjoiMSIsImkiOiJ4In0", "%%%",
    _forge({"t": 1, "i": ORDER_ID}),  # the old format: bound to no history
    _forge({"q": MINE, "t": 2**63, "i": ORDER_ID}),
    _forge({"q": MINE, "t": 10**30, "i": ORDER_ID}),
    _forge({"q": MINE, "t": -1, "i": ORDER_ID}),
    _forge({"q": MINE, "t": "1", "i": ORDER_ID}),
    _forge({"q": MINE, "t": 1, "i": {"$gt": ""}}),
    _forge({"q": MINE, "t": 1, "i": "x"}),
    base64.urlsafe_b64encode(b"{" * 50_000).decode(),
    base64.urlsafe_b64encode(b'{"q":' * 700 + b"1" + b"}" * 700).decode(),
])
def test_foreign_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        decode_token(token, MINE)
    assert info.value.field == "page_token"
