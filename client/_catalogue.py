"""Bulk import of books from CSV or JSON, and the sample catalogue shipped with the client.

A row whose ISBN is already in the catalogue is *skipped*, not an error, so an import can be
re-run after fixing a few bad rows, and seeding is idempotent. A row the service rejects is
reported with its row number and the import goes on; errors that would fail every row
(no admin rights, a service down) stop it at once.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from client._errors import (
    AuthenticationError,
    BookstoreClientError,
    ConflictError,
    DeadlineExceededError,
    InvalidArgumentError,
    PermissionDeniedError,
    ServiceUnavailableError,
)
from client._models import Book
from client._parsing import parse_price

# Errors no later row could escape: wrong account, a service gone, no answer in time.
_FATAL = (AuthenticationError, PermissionDeniedError, ServiceUnavailableError,
          DeadlineExceededError)


class _AddsBooks(Protocol):
    async def add_book(self, *, title: str, author: str, isbn: str, price_cents: int,
                       stock: int, description: str = "", published_year: int = 0) -> Book: ...


@dataclass(frozen=True, slots=True)
class BookRow:
    title: str
    author: str
    isbn: str
    price_cents: int
    stock: int
    published_year: int = 0
    description: str = ""


class Outcome(StrEnum):
    ADDED = "added"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class RowResult:
    row: int  # 1-based, as a spreadsheet numbers data rows
    label: str
    outcome: Outcome
    message: str = ""
    book_id: str = ""


@dataclass(slots=True)
class ImportReport:
    results: list[RowResult] = field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for result in self.results if result.outcome is outcome)

    @property
    def failed(self) -> list[RowResult]:
        return [result for result in self.results if result.outcome is Outcome.FAILED]


def sample_catalogue() -> list[dict[str, Any]]:
    """The books in ``client/data/catalogue.json``."""
    # This package's own name, not "client": the installable library ships it renamed.
    package = __name__.rpartition(".")[0]
    text = resources.files(package).joinpath("data/catalogue.json").read_text("utf-8")
    data: list[dict[str, Any]] = json.loads(text)
    return data


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Raw rows from a ``.csv`` (header row) or ``.json`` (a list of objects) file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InvalidArgumentError(f"cannot read {path}: {exc.strerror}") from None
    if path.suffix.lower() == ".csv":
        return [normalize_keys(row) for row in csv.DictReader(text.splitlines())]
    if path.suffix.lower() != ".json":
        raise InvalidArgumentError(f"{path}: expected a .csv or .json file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArgumentError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})"
                                   ) from None
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise InvalidArgumentError(f"{path}: expected a JSON list of book objects")
    return [normalize_keys(item) for item in data]


def normalize_keys(row: Mapping[str | None, Any]) -> dict[str, Any]:
    """Column names as spreadsheets write them: ``Title``, ``ISBN``, ``Published Year``."""
    return {"_".join(str(key).lower().replace("-", " ").split()): value
            for key, value in row.items() if key is not None}


def parse_row(raw: Mapping[str, Any]) -> BookRow:
    """A row with ``price_cents`` (whole cents) or ``price`` (``12.50``) and the book fields."""
    def text(name: str, required: bool = True) -> str:
        value = str(raw.get(name) or "").strip()
        if required and not value:
            raise InvalidArgumentError(f"{name} is missing")
        return value

    def whole(name: str, default: int | None = None) -> int:
        value = str(raw.get(name) if raw.get(name) is not None else "").strip()
        if not value and default is not None:
            return default
        if not value.lstrip("-").isdigit():
            raise InvalidArgumentError(f"{name} must be a whole number, not {value!r}")
        return int(value)

    if str(raw.get("price_cents") or "").strip():
        price_cents = whole("price_cents")
    else:
        price_cents = parse_price(text("price"))
    return BookRow(title=text("title"), author=text("author"), isbn=text("isbn"),
                   price_cents=price_cents, stock=whole("stock", 0),
                   published_year=whole("published_year", 0),
                   description=text("description", required=False))


async def import_books(client: _AddsBooks, rows: list[dict[str, Any]],
                       on_result: Callable[[RowResult], None] | None = None) -> ImportReport:
    """Add every row in order; see the module docstring for what stops the import."""
    report = ImportReport()
    for number, raw in enumerate(rows, start=1):
        label = str(raw.get("isbn") or raw.get("title") or f"row {number}").strip()
        try:
            row = parse_row(raw)
            book = await client.add_book(
                title=row.title, author=row.author, isbn=row.isbn, price_cents=row.price_cents,
                stock=row.stock, description=row.description, published_year=row.published_year)
            result = RowResult(number, label, Outcome.ADDED, book_id=book.id)
        except ConflictError as exc:
            result = RowResult(number, label, Outcome.SKIPPED, exc.message)
        except BookstoreClientError as exc:
            if isinstance(exc, _FATAL):
                raise
            result = RowResult(number, label, Outcome.FAILED, exc.message)
        report.results.append(result)
        if on_result is not None:
            on_result(result)
    return report

