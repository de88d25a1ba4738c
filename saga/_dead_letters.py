"""Dead letters kept where a person can act on them: the ``dead_letters`` collection.

A transport dead-letters a message by publishing it, with why, to the service's dead-letter
queue. Browsing a quorum queue by id is not something a broker does well, so the participant
drains that queue into a collection of the service's own database, one document per message
(upserted by message id, then acked: a message drained twice is kept once)::

    {_id: message id, type: event name or "unknown", correlation_id: or null,
     error: why (x-error), attempts: handler attempts (x-attempts),
     dead_lettered_at: UTC datetime, queue: the queue that gave up on it,
     payload: raw body bytes, headers: {...}, content_type}

From there :class:`saga.SagaOperations` lists, shows, replays and purges them.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo import DESCENDING, ReplaceOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from saga._envelope import CORRELATION_HEADER, Delivery
from saga._store import Document, utcnow
from saga._transport import Verdict
from saga.retry import Backoff, describe

log = logging.getLogger(__name__)

COLLECTION = "dead_letters"
ERROR_HEADER = "x-error"
ATTEMPTS_HEADER = "x-attempts"
ORIGINAL_KEY_HEADER = "x-original-routing-key"
BY_HEADER = "x-dead-lettered-by"
AT_HEADER = "x-dead-lettered-at"
UNKNOWN_TYPE = "unknown"
# Headers that say how a message died, not what it is: a replay goes out without them.
DEATH_HEADERS = frozenset({
    ERROR_HEADER, ATTEMPTS_HEADER, ORIGINAL_KEY_HEADER, BY_HEADER, AT_HEADER, "x-death",
    "x-first-death-exchange", "x-first-death-queue", "x-first-death-reason",
    "x-last-death-exchange", "x-last-death-queue", "x-last-death-reason", "x-delivery-count",
})
DRAIN_BACKOFF = Backoff(initial=0.2, maximum=10.0)


def dead_letter_headers(headers: Mapping[str, Any], verdict: Verdict, *, routing_key: str,
                        service: str) -> dict[str, Any]:
    """The headers a dead-lettered message carries: its own, plus why, how often, whence."""
    return {**headers, ERROR_HEADER: verdict.error, ATTEMPTS_HEADER: verdict.attempts,
            ORIGINAL_KEY_HEADER: routing_key, BY_HEADER: service,
            AT_HEADER: utcnow().isoformat()}


def dead_letter_record(delivery: Delivery, *, queue: str) -> Document:
    """The stored form of a message taken from a dead-letter queue."""
    headers = {str(k): _storable(v) for k, v in delivery.headers.items()}
    correlation = delivery.correlation_id or headers.get(CORRELATION_HEADER) or None
    return {
        "_id": delivery.message_id or content_id(delivery),
        "type": delivery.type or str(headers.get(ORIGINAL_KEY_HEADER) or "") or UNKNOWN_TYPE,
        "correlation_id": str(correlation) if correlation else None,
        "error": _error(headers),
        "attempts": _int(headers.get(ATTEMPTS_HEADER)),
        "dead_lettered_at": _time(headers.get(AT_HEADER)),
        "queue": queue,
        "payload": bytes(delivery.body),
        "headers": headers,
        "content_type": delivery.content_type,
    }


def content_id(delivery: Delivery) -> str:
    """An id for a message that came without one: the same message gets the same id, so it
    is still kept once, and a replay hands it this id."""
    digest = hashlib.sha256(delivery.body)
    digest.update(str(delivery.type).encode())
    digest.update(str(delivery.headers.get(ERROR_HEADER)).encode())
    return f"no-id-{digest.hexdigest()[:24]}"


def _error(headers: Mapping[str, Any]) -> str:
    if headers.get(ERROR_HEADER):
        return str(headers[ERROR_HEADER])
    reason = headers.get("x-first-death-reason") or headers.get("x-last-death-reason")
    return f"dead-lettered by the broker: {reason or 'no reason given'}"


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return utcnow()
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return utcnow()


def _storable(value: Any) -> Any:
    """A header value as BSON takes it (AMQP tables also carry decimals and odd ints)."""
    if value is None or isinstance(value, bool | str | float | datetime):
        return value
    if isinstance(value, int):
        return value if -2**63 <= value < 2**63 else str(value)
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, Mapping):
        return {str(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(v) for v in value]
    return str(value)


class DeadLetterStore:
    """The only code that touches the ``dead_letters`` collection."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection = db[COLLECTION]

    async def ensure_indexes(self) -> None:
        await self.collection.create_index(
            [("dead_lettered_at", DESCENDING), ("_id", DESCENDING)], name="newest_first")
        await self.collection.create_index("correlation_id", name="by_correlation")

    async def keep(self, records: Sequence[Document]) -> None:
        """Insert or replace by id: a record replaced drops any replay in progress on it."""
        if records:
            await self.collection.bulk_write(
                [ReplaceOne({"_id": r["_id"]}, r, upsert=True) for r in records], ordered=False)

    async def page(self, *, limit: int, after: tuple[datetime, str] | None) -> list[Document]:
        """Newest first; ``after`` is the (time, id) of the last record of the previous page."""
        query: Document = {}
        if after is not None:
            at, last = after
            query = {"$or": [{"dead_lettered_at": {"$lt": at}},
                             {"dead_lettered_at": at, "_id": {"$lt": last}}]}
        return await self.collection.find(query).sort(
            [("dead_lettered_at", DESCENDING), ("_id", DESCENDING)]).limit(limit).to_list()

    async def get(self, record_id: str) -> Document | None:
        return await self.collection.find_one({"_id": record_id})

    async def ids(self, *, limit: int, skip_replaying: str, until: datetime) -> list[str]:
        """Up to ``limit`` ids, oldest first, of records dead-lettered by ``until`` and not
        claimed by replay ``skip_replaying`` (one dead-lettered again is not taken twice)."""
        found = await self.collection.find(
            {"replay": {"$ne": skip_replaying}, "dead_lettered_at": {"$lte": until}},
            {"_id": 1}).sort(
            [("dead_lettered_at", 1), ("_id", 1)]).limit(limit).to_list()
        return [str(d["_id"]) for d in found]

    async def claim(self, ids: Sequence[str], token: str) -> list[Document]:
        """Mark ``ids`` as being replayed under ``token``; returns those that exist."""
        await self.collection.update_many({"_id": {"$in": list(ids)}},
                                          {"$set": {"replay": token}})
        return await self.collection.find({"_id": {"$in": list(ids)}, "replay": token}).to_list()

    async def forget(self, ids: Sequence[str], token: str) -> None:
        """Delete replayed records, unless dead-lettered again meanwhile (replaced, token gone)."""
        if ids:
            await self.collection.delete_many({"_id": {"$in": list(ids)}, "replay": token})

    async def unclaim(self, ids: Sequence[str], token: str) -> None:
        if ids:
            await self.collection.update_many({"_id": {"$in": list(ids)}, "replay": token},
                                              {"$unset": {"replay": ""}})

    async def count(self) -> int:
        return await self.collection.count_documents({})

    async def purge(self) -> int:
        result = await self.collection.delete_many({})
        return result.deleted_count


class DeadLetterDrain:
    """What the participant hands the transport for its dead-letter queue: keep each message,
    retrying while the database is away, so the transport acks only what is stored."""

    def __init__(self, store: DeadLetterStore, *, queue: str,
                 backoff: Backoff = DRAIN_BACKOFF) -> None:
        self._store = store
        self._queue = queue
        self._backoff = backoff

    async def __call__(self, delivery: Delivery) -> None:
        record = dead_letter_record(delivery, queue=self._queue)
        failures = 0
        while True:
            try:
                await self._store.keep([record])
            except PyMongoError as exc:
                failures += 1
                log.warning("dead letter not stored yet; retrying",
                            extra={"event_id": record["_id"], "error": describe(exc)})
                await asyncio.sleep(self._backoff.delay(failures))
                continue
            log.info("dead letter stored", extra={"event_id": record["_id"],
                                                  "event": record["type"],
                                                  "correlation_id": record["correlation_id"]})
            return
