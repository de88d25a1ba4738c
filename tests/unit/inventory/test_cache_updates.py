"""Applying a change-stream update to a remembered book, field by field, or refusing to."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from inventory.model import Book
from inventory.store import updated_book

AT = datetime(2026, 1, 1, tzinfo=UTC)
BOOK = Book(id="b1", title="Dune", author="Frank Herbert", isbn="9780441172719",
            price_cents=999, description="", published_year=1965, initial_stock=10,
            added_stock=0, available=10, reserved=0, sold=0, created_at=AT, updated_at=AT)


def update(fields: dict[str, Any], removed: list[str] | None = None) -> dict[str, Any]:
    return {"operationType": "update", "documentKey": {"_id": "b1"},
            "updateDescription": {"updatedFields": fields, "removedFields": removed or []}}


def test_new_values_replace_the_old_ones() -> None:
    later = datetime(2026, 1, 2, tzinfo=UTC)
    moved = updated_book(BOOK, update({"available": 8, "reserved": 2, "updated_at": later}))
    assert moved == dataclasses.replace(BOOK, available=8, reserved=2, updated_at=later)


def test_derived_fields_are_passed_over() -> None:
    renamed = updated_book(BOOK, update({"title": "Dune Messiah", "title_lower": "dune messiah"}))
    assert renamed is not None
    assert renamed.title == "Dune Messiah"


def test_what_cannot_be_applied_field_by_field_is_refused() -> None:
    assert updated_book(BOOK, update({"stock.available": 3})) is None
    assert updated_book(BOOK, update({"surprise": 1})) is None
    assert updated_book(BOOK, update({}, removed=["description"])) is None
    assert updated_book(BOOK, {"operationType": "replace", "documentKey": {"_id": "b1"}}) is None
    assert updated_book(BOOK, {"operationType": "delete", "documentKey": {"_id": "b1"}}) is None
