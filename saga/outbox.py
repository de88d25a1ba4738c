"""The transactional outbox: state changes and the events they cause commit together.

Every event is a document in the ``outbox`` collection, written in the caller's transaction.
The relay (``saga._relay``) moves it ``pending → in_progress → published`` (or ``failed`` when
it cannot be turned into a message at all). ``due_at`` says when a relay may claim it next:
for ``pending`` now, or after a publishing backoff; for ``in_progress`` when the claim's lease
ends, so a relay that died mid-batch leaves nothing stranded.

While this process's relay runs, a committed transaction also *hands its events off* to it in
memory: they are stored ``pending`` but due only after the relay's lease, so the relay
publishes them at once without reading them back, and other relays take them only if this one
dies first. That takes the claim's three round trips off every saga step.
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
from saga._locks import HeldLocks, KeyedLocks
from saga.events import event_name, order_id_of
from saga.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

T = TypeVar("T")
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


def outbox_record(event: Message, headers: dict[str, str], *,
                  due_at: datetime | None = None) -> Document:
    """The stored form of ``event``, due at once unless ``due_at`` says otherwise."""
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
        "due_at": due_at or occurred,
        "published_at": None,
    }


class Outbox:
    """Runs units of work in transactions and hands their events to the relay."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.db = db
        self.collection = db[COLLECTION]
        self._stored = asyncio.Event()
        self._hand_off_lease: timedelta | None = None
        self._handed: list[Document] = []
        self._turns = KeyedLocks()

    async def ensure_indexes(self) -> None:
        # Only relayable events have a ``due_at``; a sparse index of it holds just those, so
        # a claim reads the few due events, never the published history.
        await self.collection.create_index("due_at", name=DUE_INDEX, sparse=True)
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
        stored: list[Document] = []
        lease = self._hand_off_lease
        held = HeldLocks(self._turns)

        async def attempt(session: AsyncClientSession) -> T:
            nonlocal stored
            uow = UnitOfWork(session, held)
            result = await work(uow)
            due_at = None if lease is None else utcnow() + lease
            stored = [outbox_record(e, headers, due_at=due_at) for e in uow.events]
            if stored:
                await self.collection.insert_many(stored, session=session)
            return result

        try:
            async with self.db.client.start_session() as session:
                result = await session.with_transaction(
                    attempt, write_concern=WriteConcern("majority"))
        finally:
            held.release_all()
        if stored:  # what the last, committed attempt stored
            if lease is not None:
                self._handed.extend(stored)
            self._stored.set()
        return result

    # The relay's side: hand-offs, claiming, marking, releasing.

    def hand_off(self, lease: timedelta | None) -> None:
        """Hand committed events to this process's relay, due elsewhere after ``lease``;
        ``None`` stops (what was handed off stays to be taken)."""
        self._hand_off_lease = lease

    def take_handed_off(self, limit: int) -> list[Document]:
        """Up to ``limit`` events committed here since the last call, oldest first."""
        taken, self._handed = self._handed[:limit], self._handed[limit:]
        return taken

    @property
    def handed_off(self) -> int:
        return len(self._handed)

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

    async def mark_published(self, ids: Sequence[str]) -> None:
        if ids:
            await self.collection.update_many(
                {"_id": {"$in": list(ids)}, "state": {"$ne": OutboxState.PUBLISHED.value}},
                {"$set": {"state": OutboxState.PUBLISHED.value, "published_at": utcnow()},
                 "$unset": {"claim": "", "due_at": ""}})

    async def release(self, ids: Sequence[str], *, token: str | None, retry_at: datetime) -> None:
        """Give claimed (or, with no ``token``, handed-off) events back, due at ``retry_at``."""
        if ids:
            await self.collection.update_many(
                {"_id": {"$in": list(ids)}, "claim": token, "state": {"$in": _RELAYABLE}},
                {"$set": {"state": OutboxState.PENDING.value, "due_at": retry_at},
                 "$unset": {"claim": ""}})

    async def mark_failed(self, ids: Sequence[str], *, token: str | None, error: str) -> None:
        """Park events that can never become a message; they stay for a person to look at."""
        if ids:
            log.error("outbox events cannot be published", extra={"ids": list(ids), "error": error})
            await self.collection.update_many(
                {"_id": {"$in": list(ids)}, "claim": token},
                {"$set": {"state": OutboxState.FAILED.value, "error": error},
                 "$unset": {"claim": "", "due_at": ""}})
