"""The outbox store: the only code that touches the ``outbox`` collection.

Every event is a document, inserted in the transaction that caused it. The relay moves it
``pending → in_progress → published``, or parks it ``failed`` (it cannot become a message, or
it was attempted ``max_attempts`` times) with its last error, for a person to look at.
``due_at`` says when a relay may take it next: for ``pending`` now or after a backoff, for
``in_progress`` when the claim's lease ends, so a relay that died mid-batch strands nothing.
``attempts`` counts publishing attempts: a claim takes one, and so does a hand-off (see
``saga._relay``), which stores the event already counted.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.message import Message
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from saga._registry import EventRegistry

log = logging.getLogger(__name__)

Document = dict[str, Any]
COLLECTION = "outbox"
PUBLISHED_RETENTION = timedelta(days=7)
DUE_INDEX = "relay_due_at"


class OutboxState(enum.StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    PUBLISHED = "published"
    FAILED = "failed"


_RELAYABLE = [OutboxState.PENDING.value, OutboxState.IN_PROGRESS.value]


def utcnow() -> datetime:
    return datetime.now(UTC)


def outbox_record(event: Message, registry: EventRegistry, headers: dict[str, str], *,
                  due_at: datetime | None = None, attempts: int = 0,
                  trace: dict[str, str] | None = None) -> Document:
    """The stored form of ``event``, due at once unless ``due_at`` says otherwise; ``trace``
    is the context it was emitted in (W3C headers, see :mod:`saga.tracing`)."""
    event_id, occurred = registry.stamp(event)
    return {
        "_id": event_id,
        "name": registry.name_of(event),
        "correlation_id": registry.correlation_id(event),
        "payload": event.SerializeToString(deterministic=True),
        "headers": headers,
        "trace": trace or {},
        "state": OutboxState.PENDING.value,
        "attempts": attempts,
        "created_at": occurred,
        "due_at": due_at or occurred,
        "published_at": None,
    }


class OutboxStore:
    """Insert, claim, mark published, release and fail outbox documents."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection = db[COLLECTION]

    async def ensure_indexes(self) -> None:
        # Only relayable events have a ``due_at``; a sparse index of it holds just those, so
        # a claim reads the few due events, never the published history.
        await self.collection.create_index("due_at", name=DUE_INDEX, sparse=True)
        await self.collection.create_index(
            "published_at", name="published_ttl",
            expireAfterSeconds=int(PUBLISHED_RETENTION.total_seconds()),
            partialFilterExpression={"state": OutboxState.PUBLISHED.value})
        # What a timeline reads: one process's events (``saga.journal``).
        await self.collection.create_index("correlation_id", name="outbox_correlation")

    async def insert(self, records: Sequence[Document], session: AsyncClientSession) -> None:
        if records:
            await self.collection.insert_many(list(records), session=session)

    async def claim(self, *, limit: int, lease: timedelta, token: str) -> list[Document]:
        """Take up to ``limit`` due events for ``lease``, counting an attempt on each; another
        relay skips them meanwhile."""
        now = utcnow()
        due = {"due_at": {"$lte": now}, "state": {"$in": _RELAYABLE}}
        candidates = await self.collection.find(due, {"_id": 1}).sort(
            "due_at", ASCENDING).limit(limit).hint(DUE_INDEX).to_list()
        if not candidates:
            return []
        ids = [c["_id"] for c in candidates]
        await self.collection.update_many(
            {"_id": {"$in": ids}, **due},
            {"$set": {"state": OutboxState.IN_PROGRESS.value, "due_at": now + lease,
                      "claim": token},
             "$inc": {"attempts": 1}})
        claimed = await self.collection.find({"_id": {"$in": ids}, "claim": token}).to_list()
        claimed.sort(key=lambda d: (d["created_at"], d["_id"]))
        return claimed

    async def backlog(self) -> tuple[int, datetime | None]:
        """How many events are still to publish (pending or in progress), and when the
        oldest of them was stored; reads only the sparse index of relayable events."""
        relayable = {"due_at": {"$exists": True}, "state": {"$in": _RELAYABLE}}
        count = await self.collection.count_documents(relayable, hint=DUE_INDEX)
        if count == 0:
            return 0, None
        oldest = await self.collection.find(relayable, {"created_at": 1}).sort(
            "created_at", ASCENDING).limit(1).hint(DUE_INDEX).to_list()
        return count, oldest[0]["created_at"] if oldest else None

    async def mark_published(self, ids: Sequence[str]) -> None:
        if ids:
            await self.collection.update_many(
                {"_id": {"$in": list(ids)}, "state": {"$ne": OutboxState.PUBLISHED.value}},
                {"$set": {"state": OutboxState.PUBLISHED.value, "published_at": utcnow()},
                 "$unset": {"claim": "", "due_at": "", "error": ""}})

    async def release(self, ids: Sequence[str], *, token: str | None, retry_at: datetime,
                      error: str) -> None:
        """Give claimed (or, with no ``token``, handed-off) events back, due at ``retry_at``."""
        if ids:
            await self.collection.update_many(
                {"_id": {"$in": list(ids)}, "claim": token, "state": {"$in": _RELAYABLE}},
                {"$set": {"state": OutboxState.PENDING.value, "due_at": retry_at,
                          "error": error},
                 "$unset": {"claim": ""}})

    async def fail(self, ids: Sequence[str], *, token: str | None, error: str) -> None:
        """Park events for good, with why; they stay, never retried, for a person to see."""
        if ids:
            log.error("outbox events parked as failed", extra={"ids": list(ids), "error": error})
            await self.collection.update_many(
                {"_id": {"$in": list(ids)}, "claim": token, "state": {"$in": _RELAYABLE}},
                {"$set": {"state": OutboxState.FAILED.value, "error": error},
                 "$unset": {"claim": "", "due_at": ""}})

    async def failed(self, *, limit: int, after: tuple[datetime, str] | None) -> list[Document]:
        """Events parked ``failed``, newest first; ``after``: the last (created_at, id) seen."""
        query: Document = {"state": OutboxState.FAILED.value}
        if after is not None:
            at, last = after
            query["$or"] = [{"created_at": {"$lt": at}}, {"created_at": at, "_id": {"$lt": last}}]
        return await self.collection.find(query, {"payload": 0}).sort(
            [("created_at", DESCENDING), ("_id", DESCENDING)]).limit(limit).to_list()

    async def retry_failed(self, ids: Sequence[str] | None) -> int:
        """Make failed events (``ids``, or all) pending and due now, their attempts counted
        afresh; returns how many."""
        query: Document = {"state": OutboxState.FAILED.value}
        if ids is not None:
            query["_id"] = {"$in": list(ids)}
        result = await self.collection.update_many(
            query, {"$set": {"state": OutboxState.PENDING.value, "due_at": utcnow(),
                             "attempts": 0}})
        return result.modified_count
