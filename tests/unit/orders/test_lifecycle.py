"""Every pair of statuses, for both actors: exactly the documented moves are legal."""

from __future__ import annotations

import itertools

import pytest

from orders.lifecycle import (
    CANCELLABLE,
    FINAL,
    Actor,
    IllegalTransition,
    Status,
    can_move,
    check_move,
    sources_of,
)

S = Status
SAGA = {(S.PENDING, S.CONFIRMED), (S.PENDING, S.REJECTED), (S.PENDING, S.CANCELLED),
        (S.CONFIRMED, S.CANCELLED)}
PERSON = {(S.CONFIRMED, S.SHIPPED), (S.SHIPPED, S.COMPLETED), (S.PENDING, S.CANCELLED),
          (S.CONFIRMED, S.CANCELLED)}
ALL_PAIRS = list(itertools.product(Status, Status))


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS)
def test_saga_moves(current: Status, target: Status) -> None:
    assert can_move(current, target, Actor.SAGA) == ((current, target) in SAGA)


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS)
def test_person_moves(current: Status, target: Status) -> None:
    legal = (current, target) in PERSON
    assert can_move(current, target, Actor.PERSON) == legal
    if legal:
        check_move(current, target, Actor.PERSON)
    else:
        with pytest.raises(IllegalTransition) as info:
            check_move(current, target, Actor.PERSON)
        assert info.value.message == (
            f"cannot move order from {current.value} to {target.value}")


def test_nothing_leaves_a_final_status() -> None:
    for status, target, actor in itertools.product(FINAL, Status, Actor):
        assert not can_move(status, target, actor)
    assert {S.COMPLETED, S.REJECTED, S.CANCELLED} == FINAL


def test_cancellable_until_shipped() -> None:
    assert {s for s in Status if can_move(s, S.CANCELLED, Actor.PERSON)} == CANCELLABLE
    assert S.SHIPPED not in CANCELLABLE


def test_sources_are_the_update_filters() -> None:
    assert sources_of(S.CONFIRMED, Actor.SAGA) == {S.PENDING}
    assert sources_of(S.CANCELLED, Actor.PERSON) == {S.PENDING, S.CONFIRMED}
    assert sources_of(S.COMPLETED, Actor.PERSON) == {S.SHIPPED}
    assert sources_of(S.PENDING, Actor.PERSON) == frozenset()
