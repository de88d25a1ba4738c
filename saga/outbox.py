"""The transactional outbox: state changes and the events they cause commit together.

Every event is a document in the ``outbox`` collection, written in the caller's transaction.
The relay (``saga._relay``) moves it ``pending → in_progress → published`` (or ``failed`` when
it cannot be turned into a message at all). ``due_at`` says when the relay may take it next:
for ``pending`` now, or after a publishing backoff; for ``in_progress`` when the claim's lease
ends, so a relay that died mid-batch leaves nothing stranded.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from google.protobuf.message import Message
from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.write_concern import WriteConcern

from saga._envelope import current_trace
from saga.events import event_name, order_id_of
from saga.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

T = TypeVar("T")
Document = dict[str, Any]
COLLECTION = "outbox"
PUBLISHED_RETENTION = timedelta(days=7)


class OutboxState(enum.StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    PUBLISHED = "published"
    FAILED = "failed"


_RELAYABLE = [OutboxState.PENDING.value, OutboxState.IN_PROGRESS.value]


def utcnow() -> datetime:
    return datetime.now(UTC)


def outbox_record(event: Message, headers: dict[str, str]) -> Document:
    meta = event.meta  # type: ignore[attr-defined]
    occurred = meta.occurred_at.ToDatetime(tzinfo=UTC)
    return {
        "_id": meta.event_id,
        "name": event_name(event),
        "order_id": order_id_of(event),
        "payload": event.SerializeToString(deterministic=True),
        "headers": headers,
        "state": OutboxState.PENDING.value,
        "attempts": 0,
        "created_at": occurred,
        "due_at": occurred,
        "published_at": None,
    }


class Outbox:
    """Runs units of work in transactions and hands their events to the relay."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.db = db
        self.collection = db[COLLECTION]
        self._stored = asyncio.Event()

    async def ensure_indexes(self) -> None:
        await self.collection.create_index(
            [("state", ASCENDING), ("due_at", ASCENDING)], name="relay_due")
        await self.collection.create_index(
            "published_at", name="published_ttl",
            expireAfterSeconds=int(PUBLISHED_RETENTION.total_seconds()),
            partialFilterExpression={"state": OutboxState.PUBLISHED.value})

    async def run(self, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
        """Run ``work`` in one transaction (retried whole on transient errors) with its events.

        Returns what ``work`` returns; an exception from ``work`` aborts everything it wrote
        and everything it emitted.
        """
        headers = dict(current_trace())
        emitted = 0

        async def attempt(session: AsyncClientSession) -> T:
            nonlocal emitted
            uow = UnitOfWork(session)
            result = await work(uow)
            if uow.events:
                records = [outbox_record(e, headers) for e in uow.events]
                await self.collection.insert_many(records, session=session)
            emitted = len(uow.events)
            return result

        async with self.db.client.start_session() as session:
            result = await session.with_transaction(
                attempt, write_concern=WriteConcern("majority"))
        if emitted:
            self._stored.set()
        return result

    # The relay's side: claiming, marking, releasing.

    async def wait_for_events(self, at_most: float) -> None:
        """Return once a transaction stored events here, or after ``at_most`` seconds."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stored.wait(), at_most)

    def nudge(self) -> None:
        """Wake the relay now."""
        self._stored.set()

    def clear_nudge(self) -> None:
        self._stored.clear()

    async def claim(self, *, limit: int, lease: timedelta, token: str) -> list[Document]:
        """Take up to ``limit`` due events for ``lease``; another relay skips them meanwhile."""
        now = utcnow()
        due = {"state": {"$in": _RELAYABLE}, "due_at": {"$lte": now}}
        candidates = await self.collection.find(due, {"_id": 1}).sort(
            "due_at", ASCENDING).limit(limit).to_list()
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

    async def mark_published(self, ids: Sequence[str]) -> None:
        if ids:
            await self.collection.update_many(
                {"_id": {"$in": list(ids)}, "state": {"$ne": OutboxState.PUBLISHED.value}},
                {"$set": {"state": OutboxState.PUBLISHED.value, "published_at": utcnow()},
                 "$unset": {"claim": "", "due_at": ""}})

    async def release(self, ids: Sequence[str], *, token: str, retry_at: datetime) -> None:
        """Give claimed events back, to be tried again from ``retry_at``."""
        if ids:
            await self.collection.update_many(
                {"_id": {"$in": list(ids)}, "claim": token,
                 "state": OutboxState.IN_PROGRESS.value},
                {"$set": {"state": OutboxState.PENDING.value, "due_at": retry_at},
                 "$unset": {"claim": ""}})

    async def mark_failed(self, ids: Sequence[str], *, token: str, error: str) -> None:
        """Park events that can never become a message; they stay for a person to look at."""
        if ids:
            log.error("outbox events cannot be published", extra={"ids": list(ids), "error": error})
            await self.collection.update_many(
                {"_id": {"$in": list(ids)}, "claim": token},
                {"$set": {"state": OutboxState.FAILED.value, "error": error},
                 "$unset": {"claim": "", "due_at": ""}})
