"""Keyset pages over a user's orders, newest first: the token is the last order's position.

A token encodes ``(created_at, id)`` of the last order sent; the next page starts strictly
after it, so orders placed meanwhile never shift a page or repeat one. Tokens are opaque to
callers, bound to the one user's history, and checked on the way in (:mod:`runtime.pagetokens`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from runtime import pagetokens

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
VERSION = 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_LATEST_MILLIS = (datetime(9999, 12, 31, tzinfo=UTC) - _EPOCH) // _MS
_ORDER_ID = re.compile(r"[0-9a-f]{32}")
_FIELDS = frozenset({"t", "i"})


@dataclass(frozen=True, slots=True)
class Position:
    created_at: datetime
    order_id: str




def history_of(user_id: str) -> str:
    """The digest a token carries: one user's history, so it never resumes another's."""
    return pagetokens.query_digest("order-history", VERSION, user_id)


def encode_token(position: Position, query: str) -> str:
    millis = (position.created_at - _EPOCH) // _MS  # exact: no float rounding
    return pagetokens.pack(query, {"t": millis, "i": position.order_id})


def decode_token(token: str, query: str) -> Position | None:
    """The position a token names; ``None`` for an empty token (the first page)."""
    if not token:
        return None
    body = pagetokens.unpack(token, query, _FIELDS)
    millis, order_id = body["t"], body["i"]
    if not (isinstance(millis, int) and 0 <= millis <= _LATEST_MILLIS
            and isinstance(order_id, str) and _ORDER_ID.fullmatch(order_id)):
        raise pagetokens.damaged()
    return Position(_EPOCH + millis * _MS, order_id)
