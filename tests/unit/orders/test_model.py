"""New orders and their stored form."""

from __future__ import annotations

from datetime import UTC, datetime

from orders.lifecycle import Status
from orders.model import OrderLine, StatusChange, new_order, utc_now
from orders.store import from_document, to_document

LINES = (OrderLine("a", "Alpha", 3, 1250), OrderLine("b", "Beta", 1, 999, "not enough stock"))


def test_a_new_order_is_pending_with_its_total_and_first_history_entry() -> None:
    at = datetime(2030, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)
    order = new_order(user_id="u1", lines=LINES, payment_token="tok_visa",
                      idempotency_key=None, now=at)
    assert (order.status, order.total_cents, order.version) == (Status.PENDING, 4749, 1)
    assert order.history == (StatusChange(Status.PENDING, at, "placed"),)
    assert order.created_at == order.updated_at == at
    assert len(order.id) == 32
    assert "tok_visa" not in repr(order)  # never logged by accident


def test_stored_form_round_trips() -> None:
    order = new_order(user_id="u1", lines=LINES, payment_token="tok_x", idempotency_key="k")
    assert from_document(to_document(order)) == order


def test_an_order_without_key_stores_no_key_field() -> None:
    order = new_order(user_id="u1", lines=LINES, payment_token="", idempotency_key=None)
    assert "idempotency_key" not in to_document(order)  # the partial unique index skips it


def test_now_is_cut_to_milliseconds_and_utc() -> None:
    now = utc_now()
    assert now.microsecond % 1000 == 0
    assert now.tzinfo is UTC
