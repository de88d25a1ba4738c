"""The relay: moves stored outbox events to the broker, with confirms, and marks them sent.

It owns the in-memory hand-off: while it runs, units of work committed in this process store
their events already leased to it (due only after its lease, one attempt counted) and pass
them here, so they go out at once with no read; other relays take them only if this one
dies first. It also polls the store every ``poll_interval``, claiming a batch under a lease,
so events stored by another instance, or left behind by a crash, go out too. Either way a
batch is published at once and its confirms awaited together. Confirmed events are marked
published a moment later (``mark_delay``), many batches in one write: the mark is
bookkeeping, and on a busy database every write saved shortens everyone's queue. A crash
before the mark means the lease runs out and the events go again: at least once.

Unconfirmed events go back to ``pending``, due after a backoff that grows with their
``attempts``; after ``max_attempts`` they are parked ``failed`` with their last error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta

from pymongo.errors import PyMongoError

from saga._envelope import Envelope, envelope_from_record
from saga._registry import EventRegistry
from saga._store import Document, OutboxStore, utcnow
from saga._transport import Publisher
from saga.errors import PublishFailed
from saga.retry import Backoff, describe
from saga.tracing import MessagingTracing

log = logging.getLogger(__name__)

# A round publishes a batch in well under a second; a claim outliving its relay (crash,
# database cut off before the batch was marked) is taken again after this long.
DEFAULT_LEASE = timedelta(seconds=10)
# Per event: 0.5 s after its first failed attempt, doubling; ten attempts span about four
# minutes of broker outage before an event is parked.
RELAY_BACKOFF = Backoff(initial=0.5, maximum=300.0)
DEFAULT_MARK_DELAY = 1.0
DEFAULT_MAX_ATTEMPTS = 10


class Relay:
    def __init__(
        self,
        store: OutboxStore,
        publisher: Publisher,
        *,
        app_id: str,
        batch_size: int = 100,
        poll_interval: float = 0.5,
        lease: timedelta = DEFAULT_LEASE,
        backoff: Backoff = RELAY_BACKOFF,
        mark_delay: float = DEFAULT_MARK_DELAY,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        tracing: MessagingTracing | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._store = store
        self._publisher = publisher
        self._app_id = app_id
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self.lease = lease
        self._backoff = backoff
        self._mark_delay = mark_delay
        self._max_attempts = max_attempts
        self._tracing = tracing or MessagingTracing(EventRegistry.any_event())
        self._handed: list[Document] = []
        self._stored = asyncio.Event()
        self._confirmed: list[str] = []  # published, not yet marked
        self._mark_due: float | None = None
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def accept(self, records: Sequence[Document]) -> None:
        """Committed events handed off by this process's units of work: publish them now."""
        self._handed.extend(records)
        self._stored.set()

    @property
    def handed_off(self) -> int:
        return len(self._handed)

    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._loop(), name=f"outbox-relay-{self._app_id}")

    async def stop(self, flush_timeout: float = 5.0) -> None:
        """Finish the current round, then publish what is still due within ``flush_timeout``."""
        self._stopping.set()
        self._stored.set()
        if self._task is not None:
            await self._task
            self._task = None
        try:
            async with asyncio.timeout(flush_timeout):
                while await self.publish_handed_off() > 0:
                    pass
                while await self.relay_once() > 0:
                    pass
                await self.mark_confirmed()
        except (TimeoutError, PyMongoError, PublishFailed) as exc:
            log.warning("outbox not fully flushed at stop; the next start sends the rest",
                        extra={"error": describe(exc)})

    async def publish_handed_off(self) -> int:
        """Publish what this process's transactions handed off; returns how many."""
        records, self._handed = self._handed[:self._batch_size], self._handed[self._batch_size:]
        if records:
            await self._send(records, token=None)
        return len(records)

    async def relay_once(self) -> int:
        """One polling round: claim, publish, mark. Returns how many events it claimed."""
        token = uuid.uuid4().hex
        records = await self._store.claim(limit=self._batch_size, lease=self.lease, token=token)
        if records:
            await self._send(records, token=token)
        return len(records)

    async def _send(self, records: Sequence[Document], *, token: str | None) -> None:
        envelopes: list[Envelope] = []
        attempts: dict[str, int] = {}
        broken: list[str] = []
        for record in records:
            try:
                envelopes.append(envelope_from_record(record, self._app_id))
                attempts[str(record["_id"])] = int(record.get("attempts", 1))
            except (KeyError, TypeError, ValueError):
                broken.append(str(record["_id"]))
        await self._store.fail(broken, token=token, error="malformed outbox document")
        envelopes, spans = self._tracing.start_publish(envelopes)  # child of each stored trace
        results = await self._publisher.publish(envelopes)
        self._tracing.end_publish(envelopes, spans, results)
        sent = [e.message_id for e, r in zip(envelopes, results, strict=True) if r is None]
        unsent = [(e.message_id, r) for e, r in zip(envelopes, results, strict=True)
                  if r is not None]
        if sent and not self._confirmed:
            self._mark_due = asyncio.get_running_loop().time() + self._mark_delay
        self._confirmed.extend(sent)
        if unsent:
            await self._give_back(unsent, attempts, token)
            raise PublishFailed(f"{len(unsent)} of {len(envelopes)} unconfirmed: "
                                f"{describe(unsent[0][1])}")
        log.debug("outbox batch published", extra={"count": len(sent)})

    async def _give_back(self, unsent: Sequence[tuple[str, BaseException]],
                         attempts: dict[str, int], token: str | None) -> None:
        """Release each unconfirmed event after a backoff for its attempts, or park it."""
        error = describe(unsent[0][1])
        by_attempts: dict[int, list[str]] = defaultdict(list)
        for event_id, _ in unsent:
            by_attempts[attempts[event_id]].append(event_id)
        for count, ids in sorted(by_attempts.items()):
            if count >= self._max_attempts:
                await self._store.fail(ids, token=token,
                                       error=f"gave up after {count} attempts: {error}")
            else:
                retry_at = utcnow() + timedelta(seconds=self._backoff.delay(count))
                await self._store.release(ids, token=token, retry_at=retry_at, error=error)

    async def mark_confirmed(self) -> None:
        """Mark every confirmed event published, in one write."""
        if self._confirmed:
            await self._store.mark_published(self._confirmed)
            self._confirmed, self._mark_due = [], None

    def _mark_wait(self, now: float) -> float:
        return float("inf") if self._mark_due is None else max(0.0, self._mark_due - now)

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        failures = 0
        next_poll = loop.time()
        while not self._stopping.is_set():
            self._stored.clear()
            try:
                await self.publish_handed_off()
                if loop.time() >= next_poll:
                    claimed = await self.relay_once()
                    full = claimed >= self._batch_size
                    next_poll = loop.time() + (0 if full else self._poll_interval)
                if (self._mark_wait(loop.time()) == 0
                        or len(self._confirmed) >= self._batch_size):
                    await self.mark_confirmed()
                failures = 0
            except (PyMongoError, PublishFailed) as exc:
                failures += 1
                delay = min(self._backoff.delay(failures), self._poll_interval * 10)
                log.warning("outbox relay round failed; backing off",
                            extra={"error": describe(exc), "failures": failures,
                                   "wait_s": round(delay, 3)})
                await self._sleep(delay)
                continue
            except Exception:  # the relay must outlive any one bad round
                failures += 1
                log.exception("outbox relay round crashed", extra={"failures": failures})
                await self._sleep(min(self._backoff.delay(failures), self._poll_interval * 10))
                continue
            if not self._handed:
                now = loop.time()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._stored.wait(), min(max(0.0, next_poll - now), self._mark_wait(now)))

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake at once when asked to stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
