"""The order state machine: which status may follow which, and who may make the move.

::

    PENDING ──StockReserved + paid──▶ CONFIRMED ──admin──▶ SHIPPED ──admin──▶ COMPLETED
       │  ╲──StockRejected──▶ REJECTED     │
       │   ╲─declined / timeout──╮         │
       └──owner or admin─────────▼─────────┘
                              CANCELLED

The saga decides how a PENDING order ends (CONFIRMED, REJECTED or CANCELLED); people move
it on from there. The saga also cancels a CONFIRMED order whose stock hold inventory let
expire before the sale reached it (refunded: those copies are not sold to it). Cancelling
is allowed until the parcel leaves: once SHIPPED it is too late.
Pure: no IO, so every legal and illegal pair is cheap to test.
"""

from __future__ import annotations

import enum

from runtime.errors import FailedPrecondition


class Status(enum.StrEnum):
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    SHIPPED = "SHIPPED"
    COMPLETED = "COMPLETED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"


class Actor(enum.Enum):
    """Who asks for a transition: the saga's reactions, or a person through an RPC."""

    SAGA = "saga"
    PERSON = "person"


_SAGA_MOVES: frozenset[tuple[Status, Status]] = frozenset({
    (Status.PENDING, Status.CONFIRMED),
    (Status.PENDING, Status.REJECTED),
    (Status.PENDING, Status.CANCELLED),  # payment declined, or timed out
    (Status.CONFIRMED, Status.CANCELLED),  # inventory's hold expired before the sale
})
_PERSON_MOVES: frozenset[tuple[Status, Status]] = frozenset({
    (Status.CONFIRMED, Status.SHIPPED),
    (Status.SHIPPED, Status.COMPLETED),
    (Status.PENDING, Status.CANCELLED),
    (Status.CONFIRMED, Status.CANCELLED),
})
_MOVES = {Actor.SAGA: _SAGA_MOVES, Actor.PERSON: _PERSON_MOVES}

# No move leaves these.
FINAL: frozenset[Status] = frozenset({Status.COMPLETED, Status.REJECTED, Status.CANCELLED})
# Orders a person may still cancel (compensation is emitted for both).
CANCELLABLE: frozenset[Status] = frozenset({Status.PENDING, Status.CONFIRMED})


class IllegalTransition(FailedPrecondition):
    """The order's current status does not allow the requested one."""

    def __init__(self, current: Status, target: Status) -> None:
        super().__init__(f"cannot move order from {current.value} to {target.value}")
        self.current = current
        self.target = target


def can_move(current: Status, target: Status, actor: Actor) -> bool:
    return (current, target) in _MOVES[actor]


def check_move(current: Status, target: Status, actor: Actor) -> None:
    """Raise :class:`IllegalTransition` unless ``actor`` may move ``current`` to ``target``."""
    if not can_move(current, target, actor):
        raise IllegalTransition(current, target)


def sources_of(target: Status, actor: Actor) -> frozenset[Status]:
    """Every status ``actor`` may move to ``target`` from: the filter of a conditional update."""
    return frozenset(src for src, dst in _MOVES[actor] if dst is target)
