"""Inventory's part of a timeline: the reservation's dated states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from inventory.timeline import reservation_steps

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def test_each_dated_state_is_a_step() -> None:
    reservation = {"state": "sold", "updated_at": T0 + timedelta(seconds=1), "user_id": "u",
                   "history": [{"state": "held", "at": T0},
                               {"state": "sold", "at": T0 + timedelta(seconds=1)}]}
    steps = reservation_steps(reservation)
    assert [(s.service, s.step) for s in steps] == [("inventory", "stock held"),
                                                    ("inventory", "stock sold")]
    assert steps[1].at.ToDatetime(tzinfo=UTC) == T0 + timedelta(seconds=1)


def test_a_reservation_stored_before_states_were_dated_shows_its_current_one() -> None:
    (only,) = reservation_steps({"state": "released", "updated_at": T0})
    assert (only.step, only.detail) == ("stock released", "held copies back on sale")


def test_a_tombstone_says_the_order_was_cancelled_first() -> None:
    (only,) = reservation_steps({"state": "cancelled", "updated_at": T0,
                                 "history": [{"state": "cancelled", "at": T0}]})
    assert only.step == "nothing to hold"
