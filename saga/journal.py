"""What one service did for one business process, read back from what saga stores anyway.

Every consumed event leaves its ``processed_events`` record (written in the handler's own
transaction), every emitted one its ``outbox`` record, and a message given up on its
``dead_letters`` document; each names its correlation id. :class:`Journal` reads the three
for one correlation id (an order id), so a service can show a process's timeline with no
tracing backend, and without reading saga's collections itself.

Records age out with their collections (published outbox events after 7 days, processed
marks after 30), so an old process shows fewer steps than it took.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from saga._dispatch import PROCESSED
from saga._store import COLLECTION as OUTBOX

Document = dict[str, Any]
DEAD_LETTERS = "dead_letters"
# More records than one process ever leaves; a bound, so a runaway one cannot flood a reply.
MAX_ENTRIES = 500


class EntryKind(enum.StrEnum):
    RECEIVED = "received"  # consumed and handled (its effect committed)
    EMITTED = "emitted"  # stored in the outbox; published or not
    DEAD_LETTERED = "dead-lettered"  # given up on: a person must look


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One thing saga did for the process. ``at`` is when it began (handling started, event
    stored, message given up on); ``ended_at`` when it was done (handled, published), or
    ``None`` if it has not been (an event still in the outbox) or is one instant."""

    kind: EntryKind
    event: str
    event_id: str
    at: datetime
    ended_at: datetime | None = None
    attempts: int = 0
    redelivered: bool = False
    state: str = ""  # an emitted event's outbox state: pending, in_progress, published, failed
    error: str = ""

    @property
    def duration_ms(self) -> int:
        if self.ended_at is None:
            return 0
        return max(0, round((self.ended_at - self.at).total_seconds() * 1000))


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _received(doc: Document) -> JournalEntry:
    handled = _utc(doc["handled_at"])
    # Records from before the timeline fields have only ``handled_at``.
    return JournalEntry(EntryKind.RECEIVED, str(doc.get("name", "")), str(doc["_id"]),
                        _utc(doc.get("received_at") or handled), handled,
                        attempts=int(doc.get("attempts", 1)),
                        redelivered=bool(doc.get("redelivered", False)))


def _emitted(doc: Document) -> JournalEntry:
    published = doc.get("published_at")
    return JournalEntry(EntryKind.EMITTED, str(doc.get("name", "")), str(doc["_id"]),
                        _utc(doc["created_at"]), _utc(published) if published else None,
                        attempts=int(doc.get("attempts", 0)), state=str(doc.get("state", "")),
                        error=str(doc.get("error", "")))


def _dead(doc: Document) -> JournalEntry:
    return JournalEntry(EntryKind.DEAD_LETTERED, str(doc.get("type", "")), str(doc["_id"]),
                        _utc(doc["dead_lettered_at"]), attempts=int(doc.get("attempts", 0)),
                        error=str(doc.get("error", "")))


class Journal:
    """Reads what saga stored in one service's database about one correlation id."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._processed = db[PROCESSED]
        self._outbox = db[OUTBOX]
        self._dead = db[DEAD_LETTERS]

    async def of(self, correlation_id: str) -> list[JournalEntry]:
        """Every received, emitted and dead-lettered event of ``correlation_id``, by time.

        Payloads are never read: the journal says what happened, not what was said.
        """
        if not correlation_id:
            return []
        query = {"correlation_id": correlation_id}
        received = await self._processed.find(
            query, {"name": 1, "handled_at": 1, "received_at": 1, "attempts": 1,
                    "redelivered": 1}).limit(MAX_ENTRIES).to_list()
        emitted = await self._outbox.find(
            query, {"name": 1, "created_at": 1, "published_at": 1, "attempts": 1, "state": 1,
                    "error": 1}).limit(MAX_ENTRIES).to_list()
        # Absent until something is dead-lettered: then an empty find, not an error.
        dead = await self._dead.find(
            query, {"type": 1, "error": 1, "attempts": 1, "dead_lettered_at": 1}
        ).limit(MAX_ENTRIES).to_list()
        entries = ([_received(d) for d in received] + [_emitted(d) for d in emitted]
                   + [_dead(d) for d in dead if d.get("dead_lettered_at")])
        entries.sort(key=lambda e: (e.at, e.event_id))
        return entries
