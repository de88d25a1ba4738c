"""What inventory counts: reservations by outcome, once their transaction has committed."""

from __future__ import annotations

from runtime.metrics import RESERVATIONS
from saga import UnitOfWork

RESERVED = "reserved"  # every line held
REJECTED = "rejected"  # none held


def start_at_zero() -> None:
    """Both outcomes as series at 0, so that ``rate()`` sees the first of each."""
    for outcome in (RESERVED, REJECTED):
        RESERVATIONS.labels(outcome)


def reservation(uow: UnitOfWork, outcome: str) -> None:
    uow.after_commit(RESERVATIONS.labels(outcome).inc)
