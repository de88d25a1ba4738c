"""Page tokens: opaque to callers, a keyset cursor inside.

A token is URL-safe base64 of JSON naming the sort, a fingerprint of the filters, and the last
book's sort key and id. Keyset paging (rather than skip/offset) stays fast on deep pages and
never repeats or drops a book when others are added meanwhile. Tokens are checked strictly:
one made for another sort or other filters would resume at a meaningless place, so it is
refused, as is anything that does not decode to the expected shape.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from datetime import UTC, datetime, timedelta

from inventory.model import Book, BookFilter, Cursor, Sort
from runtime.errors import InvalidArgument

FIELD = "page_token"
VERSION = 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_OBJECT_ID = re.compile(r"[0-9a-f]{24}")
_STRING_KEYS = (Sort.TITLE, Sort.AUTHOR)
_INT_KEYS = (Sort.PRICE_ASC, Sort.PRICE_DESC)


def fingerprint(book_filter: BookFilter, words: tuple[str, ...]) -> str:
    """A short digest of what is being paged through, so a token only fits its own listing."""
    raw = json.dumps([book_filter.author, book_filter.min_price_cents,
                      book_filter.max_price_cents, book_filter.in_stock_only, list(words)])
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def cursor_after(book: Book, sort: Sort) -> Cursor:
    """The cursor that resumes right after ``book`` in ``sort`` order."""
    key: str | int | datetime
    if sort is Sort.TITLE:
        key = book.title.lower()
    elif sort is Sort.AUTHOR:
        key = book.author.lower()
    elif sort in _INT_KEYS:
        key = book.price_cents
    else:
        key = book.created_at
    return Cursor(sort=sort, key=key, book_id=book.id)


def encode(cursor: Cursor, print_: str) -> str:
    key = cursor.key
    if isinstance(key, datetime):
        key = (key - _EPOCH) // _MS
    body = {"v": VERSION, "s": cursor.sort.value, "f": print_, "k": key, "i": cursor.book_id}
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(token: str, sort: Sort, print_: str) -> Cursor | None:
    """The cursor in ``token`` (``None`` for the first page); raises if it does not fit."""
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        body = json.loads(raw)
    except (binascii.Error, ValueError):
        raise InvalidArgument(FIELD, "not a page token from this service") from None
    if not isinstance(body, dict) or set(body) != {"v", "s", "f", "k", "i"}:
        raise InvalidArgument(FIELD, "not a page token from this service")
    if body["v"] != VERSION:
        raise InvalidArgument(FIELD, "page token from an older version; start again")
    if body["s"] != sort.value:
        raise InvalidArgument(FIELD, "page token belongs to another sort order")
    if body["f"] != print_:
        raise InvalidArgument(FIELD, "page token belongs to other filters or another query")
    book_id = body["i"]
    if not isinstance(book_id, str) or not _OBJECT_ID.fullmatch(book_id):
        raise InvalidArgument(FIELD, "page token is damaged")
    return Cursor(sort=sort, key=_key(body["k"], sort), book_id=book_id)


def _key(value: object, sort: Sort) -> str | int | datetime:
    if sort in _STRING_KEYS and isinstance(value, str):
        return value
    # bool is an int subclass; refuse it as a key
    if isinstance(value, int) and not isinstance(value, bool):
        if sort in _INT_KEYS:
            return value
        if sort is Sort.NEWEST:
            try:
                return _EPOCH + value * _MS
            except OverflowError:
                pass
    raise InvalidArgument(FIELD, "page token is damaged")
