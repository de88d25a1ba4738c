"""Keyset pages over a user's orders, newest first: the token is the last order's position.

A token encodes ``(created_at, id)`` of the last order sent; the next page starts strictly
after it, so orders placed meanwhile never shift a page or repeat one. Tokens are opaque to
callers (URL-safe base64 of a small JSON object) and are checked on the way in.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from runtime.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class Position:
    created_at: datetime
    order_id: str


def page_size(raw: int) -> int:
    if raw == 0:
        return DEFAULT_PAGE_SIZE
    if not 1 <= raw <= MAX_PAGE_SIZE:
        raise InvalidArgument("page_size", f"must be 1..{MAX_PAGE_SIZE} (0 means "
                              f"{DEFAULT_PAGE_SIZE}), not {raw}")
    return raw


def encode_token(position: Position) -> str:
    millis = (position.created_at - _EPOCH) // _MS  # exact: no float rounding
    raw = json.dumps({"t": millis, "i": position.order_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(token: str) -> Position | None:
    """The position a token names; ``None`` for an empty token (the first page)."""
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        millis, order_id = data["t"], data["i"]
        if not isinstance(millis, int) or not isinstance(order_id, str) or not order_id:
            raise ValueError("bad fields")
        return Position(_EPOCH + millis * _MS, order_id)
    except (ValueError, KeyError, TypeError, binascii.Error, OverflowError):
        raise InvalidArgument("page_token", "is not a token this service issued") from None
