"""What the order service counts: placements, status changes, settle times, payments.

Changes made in a unit of work are recorded through ``uow.after_commit``: only once the
transaction has committed, and once however often it was retried. A change made by a single
conditional write (an admin shipping an order) is recorded right after that write.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from orders.lifecycle import Actor, Status, can_move
from orders.model import utc_now
from runtime.metrics import (
    ORDER_SETTLE_SECONDS,
    ORDER_TRANSITIONS,
    ORDERS_PENDING_OVERDUE,
    ORDERS_PLACED,
    PAYMENTS,
)
from saga import UnitOfWork

PAYMENT_OUTCOMES = ("charged", "declined", "failed")
# How the saga ends a PENDING order; the time to get there is the order's settle time.
OUTCOMES = frozenset({Status.CONFIRMED, Status.REJECTED, Status.CANCELLED})


def start_at_zero() -> None:
    """Every legal transition and payment outcome as a series at 0, so that ``rate()`` sees
    the first of each."""
    for source in Status:
        for target in Status:
            if any(can_move(source, target, actor) for actor in Actor):
                ORDER_TRANSITIONS.labels(source.value, target.value)
    for outcome in PAYMENT_OUTCOMES:
        PAYMENTS.labels(outcome)


def placed(uow: UnitOfWork) -> None:
    uow.after_commit(ORDERS_PLACED.inc)


def moved(source: Status, target: Status, created_at: datetime,
          uow: UnitOfWork | None = None) -> None:
    """An order moved from ``source`` to ``target``: now, or when ``uow`` commits."""
    record = functools.partial(_record_move, source, target, created_at)
    if uow is None:
        record()
    else:
        uow.after_commit(record)


def _record_move(source: Status, target: Status, created_at: datetime) -> None:
    ORDER_TRANSITIONS.labels(source.value, target.value).inc()
    if source is Status.PENDING and target in OUTCOMES:
        created = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
        ORDER_SETTLE_SECONDS.observe(max((utc_now() - created).total_seconds(), 0.0))


def payment(outcome: str) -> None:
    """One charge of an order: ``charged``, ``declined``, or ``failed`` (the gateway did not
    answer after every retry)."""
    PAYMENTS.labels(outcome).inc()


def pending_overdue(count: int) -> None:
    ORDERS_PENDING_OVERDUE.set(count)
