"""Turning a delivery into at most one handler effect, whatever the transport.

Order of work for each message:

1. Check its content type, decode it as the type its subscription names, and have the
   registry's validator for that type look at it; a message failing any of these is
   dead-lettered at once (no retry, no handler, no dedup mark), with the reason in
   ``x-error``.
2. Look its event id (the body's own, else the message id) up in ``processed_events``: a
   duplicate is acknowledged before the handler does anything at all (no outside effect, no
   log of the handler's).
3. Run the subscription's outside phase, if any, with no transaction open.
4. Run the handler in one outbox transaction that also inserts the event id into
   ``processed_events``, with what a process's timeline shows of it (``saga.journal``):
   name, correlation id, when handling began and ended, attempts, redelivery. That insert
   stays the authority: two copies handled side by side both pass step 2, and the second
   trips the unique ``_id`` and is thrown away with its transaction. The mark is written
   after the handler's work, not before: a transaction's snapshot starts with its first
   statement, and a handler that waits for its turn on hot documents
   (``UnitOfWork.take_turns``) must wait before that, or its writes conflict.

Steps 3 and 4 are retried together with backoff; outside phases are idempotent, as they must
be for redeliveries anyway.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from google.protobuf.message import Message
from pymongo.errors import DuplicateKeyError

from saga._envelope import Delivery, decode, propagated_headers, trace_context
from saga._runner import Outbox
from saga._store import utcnow
from saga._subscriptions import Subscription, Subscriptions
from saga._transport import Disposition, Verdict
from saga.errors import InvalidEvent, PoisonMessage, UndecodableMessage
from saga.retry import Backoff, describe
from saga.tracing import handler_span, log_fields
from saga.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

PROCESSED = "processed_events"
PROCESSED_RETENTION = timedelta(days=30)


class _AlreadyHandled(Exception):  # noqa: N818 - a signal, not an error
    """The event id is in ``processed_events``: nothing to do."""


class Dispatcher:
    """Routes decoded events to their handlers with dedup, retries and a final verdict."""

    def __init__(
        self, outbox: Outbox, subscriptions: Subscriptions, *, max_attempts: int,
        backoff: Backoff,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._outbox = outbox
        self._processed = outbox.db[PROCESSED]
        self._subscriptions = subscriptions
        self._types = subscriptions.types
        self._max_attempts = max_attempts
        self._backoff = backoff

    async def ensure_indexes(self) -> None:
        """Forget handled ids long after any redelivery could come, so the set stays small."""
        await self._processed.create_index(
            "handled_at", name="processed_ttl",
            expireAfterSeconds=int(PROCESSED_RETENTION.total_seconds()))
        await self._processed.create_index("correlation_id", name="processed_correlation")

    @property
    def event_names(self) -> list[str]:
        return self._subscriptions.names

    async def dispatch(self, delivery: Delivery) -> Verdict:
        """Handle ``delivery`` once; never raises, so the transport always gets a verdict."""
        context = {"event_id": delivery.message_id, "event": delivery.type,
                   "correlation_id": delivery.correlation_id}
        try:
            name, event = decode(delivery, self._types)
            subscription = self._subscriptions.get(name)
            if subscription is None:
                raise UndecodableMessage(f"no handler here for {name!r}")
            if (problem := self._outbox.registry.problem(event)) is not None:
                raise InvalidEvent(f"{name} is not valid: {problem}")
        except UndecodableMessage as exc:
            log.error("undecodable message", extra={**context, "error": describe(exc)})
            return Verdict(Disposition.DEAD_LETTER, attempts=0, error=describe(exc))
        except InvalidEvent as exc:
            log.error("invalid event", extra={**context, "error": describe(exc)})
            return Verdict(Disposition.DEAD_LETTER, attempts=0, error=describe(exc))
        context.update(log_fields(self._outbox.registry, event))

        attempts = 0
        received_at = utcnow()
        try:
            retrying = self._backoff.retrying(
                self._max_attempts, give_up_on=(PoisonMessage, _AlreadyHandled))
            async for attempt in retrying:
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    await self._handle_once(delivery, name, event, subscription,
                                            received_at=received_at, attempts=attempts)
        except _AlreadyHandled:
            log.info("duplicate event skipped", extra=context)
            return Verdict(Disposition.ACK, attempts, duplicate=True)
        except Exception as exc:  # the boundary where every handler failure becomes a verdict
            log.error("event dead-lettered",
                      extra={**context, "attempts": attempts, "error": describe(exc)})
            return Verdict(Disposition.DEAD_LETTER, attempts, error=describe(exc))
        log.info("event handled", extra={**context, "attempts": attempts})
        return Verdict(Disposition.ACK, attempts)

    def _event_id(self, delivery: Delivery, event: Message) -> str:
        """The id to deduplicate on: the event's own (from its body), so a copy sent again
        under another message id is still a duplicate; the message id for one with none."""
        try:
            own = self._outbox.registry.event_id(event)
        except AttributeError:  # an open registry, and a message without a ``meta`` field
            own = ""
        return own or str(delivery.message_id)

    async def _handle_once(
        self, delivery: Delivery, name: str, event: Message, subscription: Subscription, *,
        received_at: datetime, attempts: int,
    ) -> None:
        event_id = self._event_id(delivery, event)
        if await self._processed.find_one({"_id": event_id}, {"_id": 1}) is not None:
            raise _AlreadyHandled
        outcome: Any = None
        registry = self._outbox.registry
        if subscription.outside is not None:
            with handler_span(registry, subscription.outside, "outside", event, event_id):
                outcome = await subscription.outside(event)

        async def work(uow: UnitOfWork) -> None:
            await subscription.settle(event, outcome, uow)
            try:
                await self._processed.insert_one(
                    {"_id": event_id, "name": name, "handled_at": utcnow(),
                     "correlation_id": self._outbox.registry.correlation_id(event),
                     "received_at": received_at, "attempts": attempts,
                     "redelivered": delivery.redelivered},
                    session=uow.session)
            except DuplicateKeyError:
                raise _AlreadyHandled from None

        with (trace_context(propagated_headers(delivery)),
              handler_span(registry, subscription.settle, "transaction", event, event_id)):
            await self._outbox.run(work)
