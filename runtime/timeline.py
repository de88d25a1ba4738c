"""An order's timeline steps as both services answer them: saga's journal and a service's own
domain steps, in the one ``TimelineStep`` message of ``contracts/bookstore/timeline``.

Each service builds its part from what it stores (:class:`saga.journal.Journal` for events,
its own documents for state changes); the client merges the parts in time order.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from contracts.bookstore.timeline.v1 import timeline_pb2 as pb
from saga.journal import EntryKind, JournalEntry

TimelineStep = pb.TimelineStep


def timestamp(at: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(at if at.tzinfo else at.replace(tzinfo=UTC))
    return stamp


def step(service: str, name: str, at: datetime, *, detail: str = "") -> TimelineStep:
    """A domain step: one instant, like a status change."""
    return TimelineStep(at=timestamp(at), service=service, step=name, detail=detail)


def _detail(entry: JournalEntry) -> str:
    if entry.kind is EntryKind.EMITTED:
        return f"{entry.state}: {entry.error}" if entry.error else entry.state
    return entry.error


def journal_steps(service: str, entries: Iterable[JournalEntry]) -> list[TimelineStep]:
    """What saga did for the order in ``service``: events received, emitted, dead-lettered."""
    return [
        TimelineStep(
            at=timestamp(entry.at), service=service,
            step=(str(entry.kind) if entry.kind is EntryKind.DEAD_LETTERED
                  else f"{entry.kind} {entry.event}"),
            event_id=entry.event_id, event=entry.event, duration_ms=entry.duration_ms,
            attempts=entry.attempts, redelivered=entry.redelivered, detail=_detail(entry))
        for entry in entries]


def _rank(step: TimelineStep) -> int:
    """Within one instant (MongoDB keeps milliseconds), a service receives an event, then
    changes state, then emits what that caused."""
    if step.step.startswith(f"{EntryKind.RECEIVED} "):
        return 0
    if step.step.startswith(f"{EntryKind.EMITTED} "):
        return 2
    return 1


def in_time_order(steps: Iterable[TimelineStep]) -> list[TimelineStep]:
    """Sorted by when each began, causes before effects within the same millisecond."""
    return sorted(steps, key=lambda s: (s.at.seconds, s.at.nanos, _rank(s)))
