"""What an operator does with the messages the saga could not deliver or handle.

Dead letters (kept in ``dead_letters``, see :mod:`saga._dead_letters`) are listed newest
first, shown decoded, replayed or purged. A replay publishes the stored message straight to
the service's own queue, with its original message id, so the normal consumer path handles
it: the dedup still holds (a message handled meanwhile is a silent duplicate), and no other
subscriber of the event sees it again. The record is deleted once the broker confirmed, unless
the message was dead-lettered again in the meantime.

Outbox events parked ``failed`` (the broker refused them ``relay_max_attempts`` times) are
listed and retried: set back to ``pending``, due now, with their attempts counted afresh.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from google.protobuf.message import DecodeError, Message

from saga._dead_letters import DEATH_HEADERS, DeadLetterStore
from saga._envelope import CONTENT_TYPE, Envelope, Topology
from saga._registry import EventRegistry
from saga._store import Document, OutboxStore, utcnow
from saga._transport import Transport
from saga.errors import PublishFailed
from saga.retry import describe

REPLAY_BATCH = 100


@dataclass(frozen=True, slots=True)
class DeadLetterRecord:
    """One kept dead letter, as stored."""

    id: str
    type: str
    correlation_id: str | None
    error: str
    attempts: int
    dead_lettered_at: datetime
    queue: str
    payload: bytes
    headers: dict[str, Any] = field(default_factory=dict)
    content_type: str | None = None

    @classmethod
    def from_document(cls, doc: Document) -> DeadLetterRecord:
        at: datetime = doc["dead_lettered_at"]
        return cls(id=str(doc["_id"]), type=str(doc.get("type") or "unknown"),
                   correlation_id=doc.get("correlation_id"), error=str(doc.get("error", "")),
                   attempts=int(doc.get("attempts", 0)),
                   dead_lettered_at=at if at.tzinfo else at.replace(tzinfo=UTC),
                   queue=str(doc.get("queue", "")), payload=bytes(doc.get("payload", b"")),
                   headers=dict(doc.get("headers") or {}), content_type=doc.get("content_type"))

    @property
    def cursor(self) -> tuple[datetime, str]:
        """Where the next page starts, newest first."""
        return self.dead_lettered_at, self.id


@dataclass(frozen=True, slots=True)
class FailedEvent:
    """One outbox event parked ``failed``."""

    id: str
    name: str
    correlation_id: str
    error: str
    attempts: int
    created_at: datetime

    @classmethod
    def from_document(cls, doc: Document) -> FailedEvent:
        at: datetime = doc["created_at"]
        return cls(id=str(doc["_id"]), name=str(doc.get("name", "")),
                   correlation_id=str(doc.get("correlation_id", "")),
                   error=str(doc.get("error", "")), attempts=int(doc.get("attempts", 0)),
                   created_at=at if at.tzinfo else at.replace(tzinfo=UTC))


class SagaOperations:
    """A service's dead letters and failed outbox events, for its admin API."""

    def __init__(self, *, dead_letters: DeadLetterStore, outbox: OutboxStore,
                 transport: Transport, topology: Topology, registry: EventRegistry,
                 app_id: str) -> None:
        self._dead = dead_letters
        self._outbox = outbox
        self._transport = transport
        self.topology = topology
        self._registry = registry
        self._app_id = app_id

    # -- dead letters ---------------------------------------------------------------------

    async def dead_letters(self, *, limit: int, after: tuple[datetime, str] | None = None
                           ) -> list[DeadLetterRecord]:
        """Up to ``limit`` dead letters, newest first, after the cursor ``after``."""
        docs = await self._dead.page(limit=limit, after=after)
        return [DeadLetterRecord.from_document(d) for d in docs]

    async def dead_letter(self, record_id: str) -> DeadLetterRecord | None:
        doc = await self._dead.get(record_id)
        return None if doc is None else DeadLetterRecord.from_document(doc)

    async def dead_letter_count(self) -> int:
        return await self._dead.count()

    def decode(self, record: DeadLetterRecord) -> Message | None:
        """The event in ``record``, if its type is one of this service's and its body parses."""
        event_type = self._registry.type_of(record.type)
        if event_type is None:
            return None
        event = event_type()
        try:
            event.ParseFromString(record.payload)
        except DecodeError:
            return None
        return event

    async def replay(self, record_id: str) -> bool:
        """Send one dead letter back to the service's queue; ``False`` if none has that id.
        Raises :class:`PublishFailed` if the broker did not confirm (it stays kept)."""
        return await self._replay([record_id], uuid.uuid4().hex) == 1

    async def replay_all(self) -> int:
        """Send every dead letter kept now back to the service's queue; returns how many."""
        token, started = uuid.uuid4().hex, utcnow()
        replayed = 0
        while ids := await self._dead.ids(limit=REPLAY_BATCH, skip_replaying=token,
                                          until=started):
            replayed += await self._replay(ids, token)
        return replayed

    async def purge(self) -> int:
        """Delete every dead letter; returns how many there were."""
        return await self._dead.purge()

    async def _replay(self, ids: Sequence[str], token: str) -> int:
        records = [DeadLetterRecord.from_document(d) for d in await self._dead.claim(ids, token)]
        if not records:
            return 0
        results = await self._transport.redeliver([self._envelope(r) for r in records])
        sent = [r.id for r, failure in zip(records, results, strict=True) if failure is None]
        failures = [f for f in results if f is not None]
        await self._dead.forget(sent, token)
        if failures:
            await self._dead.unclaim([r.id for r in records if r.id not in sent], token)
            raise PublishFailed(f"{len(failures)} of {len(records)} not confirmed by the broker: "
                                f"{describe(failures[0])}")
        return len(sent)

    def _envelope(self, record: DeadLetterRecord) -> Envelope:
        headers = {k: str(v) for k, v in record.headers.items() if k not in DEATH_HEADERS}
        return Envelope(routing_key=record.type, body=record.payload, message_id=record.id,
                        correlation_id=record.correlation_id or "",
                        timestamp=record.dead_lettered_at, app_id=self._app_id,
                        headers=headers, content_type=record.content_type or CONTENT_TYPE)

    # -- failed outbox events ---------------------------------------------------------------

    async def failed_events(self, *, limit: int, after: tuple[datetime, str] | None = None
                            ) -> list[FailedEvent]:
        """Outbox events parked ``failed``, newest first."""
        docs = await self._outbox.failed(limit=limit, after=after)
        return [FailedEvent.from_document(d) for d in docs]

    async def retry_failed_events(self, ids: Sequence[str] | None = None) -> int:
        """Make failed events (``ids``, or all) due again; returns how many."""
        return await self._outbox.retry_failed(ids)
