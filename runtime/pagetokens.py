"""Page tokens' envelope, shared by every service that pages: packed, bound to a query, checked.

A token is URL-safe base64 of a flat JSON object. It carries a digest of the query it was made
for (filters, sort, whose list), so a token only resumes the listing that issued it. Tokens are
not signed: a cursor holds nothing secret, and a hand-made one that passes these checks can only
name a position in the caller's own query, which the caller could reach by paging anyway.
What matters is that nothing a caller sends reaches the database unchecked. So the envelope is
refused, with ``INVALID_ARGUMENT`` naming ``page_token``, unless it is short, decodes to a flat
object of exactly the expected fields, each a string or an integer, and fits its query;
each service then range-checks the values it reads.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping

from runtime.errors import InvalidArgument

FIELD = "page_token"
# Far above any token a service issues (the longest key is a 300-character title), far below
# what nested JSON needs to exhaust the parser's recursion limit.
MAX_TOKEN_CHARS = 2048
QUERY_FIELD = "q"
# JSON numbers beyond this are not integers any store holds (MongoDB's int64).
MAX_ABS_INT = 2**63 - 1

Scalar = str | int


def query_digest(*parts: object) -> str:
    """A short digest of what is being paged through; parts must be JSON-serialisable."""
    raw = json.dumps(parts, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def pack(query: str, fields: Mapping[str, Scalar]) -> str:
    """The token for a position ``fields`` in the listing whose digest is ``query``."""
    body = {QUERY_FIELD: query, **fields}
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unpack(token: str, query: str, names: frozenset[str]) -> dict[str, Scalar]:
    """The fields of ``token``, exactly ``names``; raises unless it was made for ``query``."""
    if len(token) > MAX_TOKEN_CHARS:
        raise _refused("is too long to be a page token from this service")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        body = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):
        raise _refused("is not a page token from this service") from None
    if not isinstance(body, dict) or set(body) != names | {QUERY_FIELD}:
        raise _refused("is not a page token from this service")
    if body[QUERY_FIELD] != query:
        raise _refused("belongs to another query (other filters, sort or account); start again")
    fields: dict[str, Scalar] = {}
    for name in names:
        value = body[name]
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise damaged()
        if isinstance(value, int) and abs(value) > MAX_ABS_INT:
            raise damaged()
        fields[name] = value
    return fields


def damaged() -> InvalidArgument:
    """The error for a token of the right shape whose values cannot be a real position."""
    return _refused("is damaged: not a position this service issued")


def _refused(reason: str) -> InvalidArgument:
    return InvalidArgument(FIELD, reason)


def page_size(raw: int, *, default: int, maximum: int) -> int:
    """A request's ``page_size``: 0 means ``default``; anything outside 1..``maximum`` is
    refused, naming the field."""
    if raw == 0:
        return default
    if not 1 <= raw <= maximum:
        raise InvalidArgument("page_size", f"must be 1..{maximum} (0 means {default}), "
                                           f"not {raw}")
    return raw
