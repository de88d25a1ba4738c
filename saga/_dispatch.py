"""Turning a delivery into at most one handler effect, whatever the transport.

Each message is handled in one outbox transaction that also records its event id in
``processed_events``: a duplicate trips the unique ``_id`` and is acknowledged with nothing
changed, and a handler's writes, its emitted events and the "processed" mark commit together
or not at all. The mark is written after the handler's work, not before: a transaction's
snapshot starts with its first statement, and a handler that waits for its turn on hot
documents (``UnitOfWork.take_turns``) must wait before that, or its writes conflict anyway.
A duplicate's work is thrown away with the aborted transaction; handlers keep outside effects
idempotent, as they must for redeliveries anyway.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from google.protobuf.message import Message
from pymongo.errors import DuplicateKeyError

from saga._envelope import Delivery, decode, propagated_headers, trace_context
from saga._retry import Backoff, describe
from saga.errors import PoisonMessage, UndecodableMessage
from saga.outbox import Outbox, utcnow
from saga.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

Handler = Callable[[Any, UnitOfWork], Awaitable[None]]
Subscriptions = Mapping[type[Message], Handler]
PROCESSED = "processed_events"
PROCESSED_RETENTION = timedelta(days=30)


class Disposition(enum.Enum):
    """What the transport does with a message once dispatch is over."""

    ACK = "ack"  # handled now, or already handled before
    DEAD_LETTER = "dead_letter"  # publish to the service's dead-letter exchange, then ack


@dataclass(frozen=True, slots=True)
class Verdict:
    disposition: Disposition
    attempts: int
    error: str = ""
    duplicate: bool = False


class _AlreadyHandled(Exception):  # noqa: N818 - a signal, not an error
    """The event id is in ``processed_events``: nothing to do."""


class Dispatcher:
    """Routes decoded events to their handlers with dedup, retries and a final verdict."""

    def __init__(
        self, outbox: Outbox, subscriptions: Subscriptions, *, max_attempts: int, backoff: Backoff
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._outbox = outbox
        self._processed = outbox.db[PROCESSED]
        self._handlers = {t.DESCRIPTOR.name: h for t, h in subscriptions.items()}
        self._max_attempts = max_attempts
        self._backoff = backoff

    async def ensure_indexes(self) -> None:
        """Forget handled ids long after any redelivery could come, so the set stays small."""
        await self._processed.create_index(
            "handled_at", name="processed_ttl",
            expireAfterSeconds=int(PROCESSED_RETENTION.total_seconds()))

    @property
    def event_names(self) -> list[str]:
        return sorted(self._handlers)

    async def dispatch(self, delivery: Delivery) -> Verdict:
        """Handle ``delivery`` once; never raises, so the transport always gets a verdict."""
        context = {"event_id": delivery.message_id, "event": delivery.type,
                   "order_id": delivery.correlation_id}
        try:
            name, event = decode(delivery)
            handler = self._handlers.get(name)
            if handler is None:
                raise UndecodableMessage(f"no handler here for {name!r}")
        except UndecodableMessage as exc:
            log.error("undecodable message", extra={**context, "error": describe(exc)})
            return Verdict(Disposition.DEAD_LETTER, attempts=0, error=describe(exc))

        attempts = 0
        try:
            retrying = self._backoff.retrying(
                self._max_attempts, give_up_on=(PoisonMessage, _AlreadyHandled))
            async for attempt in retrying:
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    await self._handle_once(delivery, name, event, handler)
        except _AlreadyHandled:
            log.info("duplicate event skipped", extra=context)
            return Verdict(Disposition.ACK, attempts, duplicate=True)
        except Exception as exc:  # the boundary where every handler failure becomes a verdict
            log.error("event dead-lettered",
                      extra={**context, "attempts": attempts, "error": describe(exc)})
            return Verdict(Disposition.DEAD_LETTER, attempts, error=describe(exc))
        log.info("event handled", extra={**context, "attempts": attempts})
        return Verdict(Disposition.ACK, attempts)

    async def _handle_once(
        self, delivery: Delivery, name: str, event: Message, handler: Handler
    ) -> None:
        event_id = delivery.message_id

        async def work(uow: UnitOfWork) -> None:
            await handler(event, uow)
            try:
                await self._processed.insert_one(
                    {"_id": event_id, "name": name, "handled_at": utcnow()},
                    session=uow.session)
            except DuplicateKeyError:
                raise _AlreadyHandled from None

        with trace_context(propagated_headers(delivery)):
            await self._outbox.run(work)
