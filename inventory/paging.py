"""Page tokens: opaque to callers, a keyset cursor inside.

A token (:mod:`runtime.pagetokens`) holds a digest of the sort and filters, and the last
book's sort key and id. Keyset paging (rather than skip/offset) stays fast on deep pages and
never repeats or drops a book when others are added meanwhile. Tokens are checked strictly:
one made for another sort or other filters would resume at a meaningless place, so it is
refused, as is anything that does not decode to the expected shape or holds a key no book
of this catalogue can have.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from inventory.model import Book, BookFilter, Cursor, Sort
from inventory.validation import MAX_AUTHOR, MAX_PRICE_CENTS, MAX_TITLE
from runtime import pagetokens

VERSION = 2
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_LATEST_MILLIS = (datetime(9999, 12, 31, tzinfo=UTC) - _EPOCH) // _MS
_OBJECT_ID = re.compile(r"[0-9a-f]{24}")
_STRING_KEYS = {Sort.TITLE: MAX_TITLE, Sort.AUTHOR: MAX_AUTHOR}
_INT_KEYS = (Sort.PRICE_ASC, Sort.PRICE_DESC)
_FIELDS = frozenset({"k", "i"})


def fingerprint(book_filter: BookFilter, words: tuple[str, ...], sort: Sort) -> str:
    """A short digest of what is being paged through, so a token only fits its own listing."""
    return pagetokens.query_digest(
        "books", VERSION, sort.value, book_filter.author, book_filter.min_price_cents,
        book_filter.max_price_cents, book_filter.in_stock_only, list(words))


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
    return pagetokens.pack(print_, {"k": key, "i": cursor.book_id})


def decode(token: str, sort: Sort, print_: str) -> Cursor | None:
    """The cursor in ``token`` (``None`` for the first page); raises if it does not fit."""
    if not token:
        return None
    body = pagetokens.unpack(token, print_, _FIELDS)
    book_id = body["i"]
    if not isinstance(book_id, str) or not _OBJECT_ID.fullmatch(book_id):
        raise pagetokens.damaged()
    return Cursor(sort=sort, key=_key(body["k"], sort), book_id=book_id)


def _key(value: str | int, sort: Sort) -> str | int | datetime:
    """The sort key, if it is one a book of this catalogue can have."""
    longest = _STRING_KEYS.get(sort)
    if longest is not None:
        # lower() may lengthen a few letters (İ becomes two code points): leave room
        if isinstance(value, str) and len(value) <= 2 * longest:
            return value
    elif isinstance(value, int):
        if sort in _INT_KEYS and 0 <= value <= MAX_PRICE_CENTS:
            return value
        if sort is Sort.NEWEST and 0 <= value <= _LATEST_MILLIS:
            return _EPOCH + value * _MS
    raise pagetokens.damaged()
