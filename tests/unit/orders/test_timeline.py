"""Orders' part of a timeline: its history's entries named as steps, journal merged in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from orders.timeline import order_timeline
from saga.journal import EntryKind, JournalEntry

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def ms(n: int) -> datetime:
    return T0 + timedelta(milliseconds=n)


def test_history_and_journal_interleave_with_causes_first_within_a_millisecond() -> None:
    history = [
        {"status": "PENDING", "at": ms(0), "reason": "placed"},
        {"status": "PENDING", "at": ms(20), "reason": "payment of 999 cents due",
         "step": "payment_due"},
        {"status": "CONFIRMED", "at": ms(30), "reason": "paid"},
    ]
    journal = [
        JournalEntry(EntryKind.EMITTED, "OrderPlaced", "e1", ms(0), ms(4), attempts=1,
                     state="published"),
        JournalEntry(EntryKind.RECEIVED, "StockReserved", "e2", ms(20), ms(31), attempts=2,
                     redelivered=True),
        JournalEntry(EntryKind.EMITTED, "OrderConfirmed", "e3", ms(30), state="pending"),
    ]
    steps = order_timeline(history, journal)
    assert [(s.step, s.detail) for s in steps] == [
        ("placed", "placed"), ("emitted OrderPlaced", "published"),
        ("received StockReserved", ""), ("payment due", "payment of 999 cents due"),
        ("confirmed", "paid"), ("emitted OrderConfirmed", "pending")]
    received = steps[2]
    assert (received.duration_ms, received.attempts, received.redelivered) == (11, 2, True)
    assert steps[-1].duration_ms == 0  # not published yet
    assert {s.service for s in steps} == {"orders"}


def test_a_cancellation_after_confirmation_is_its_own_step() -> None:
    history = [{"status": "PENDING", "at": ms(0), "reason": "placed"},
               {"status": "CONFIRMED", "at": ms(5), "reason": "paid"},
               {"status": "CANCELLED", "at": ms(9), "reason": "cancelled by customer"}]
    assert [s.step for s in order_timeline(history, [])] == ["placed", "confirmed", "cancelled"]
