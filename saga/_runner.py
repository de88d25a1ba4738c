"""The unit-of-work runner: state changes and the events they cause commit together.

``Outbox.run(work)`` runs ``work`` in one MongoDB transaction (retried whole on transient
errors) and inserts what it emitted into the outbox in that same transaction. Once it
commits, the events are offered to this process's relay, if one listens (see
``saga._relay``): they were stored already leased to it, so it publishes them at once
without reading them back.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Protocol, TypeVar

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.write_concern import WriteConcern

from saga._envelope import current_trace
from saga._locks import HeldLocks, KeyedLocks
from saga._registry import EventRegistry
from saga._store import Document, OutboxStore, outbox_record, utcnow
from saga.tracing import carrier
from saga.unit_of_work import UnitOfWork, _current, _open

T = TypeVar("T")
log = logging.getLogger(__name__)


class HandOff(Protocol):
    """Who takes committed events straight from memory: the relay of this process."""

    @property
    def lease(self) -> timedelta:
        """How long other relays leave a handed-off event alone."""

    def accept(self, records: Sequence[Document]) -> None:
        """Committed events to publish now; each already counts one attempt."""


class Outbox:
    """Runs units of work in transactions, taking turns on hot keys, with their events."""

    def __init__(self, db: AsyncDatabase[Document],
                 registry: EventRegistry | None = None) -> None:
        self.db = db
        self.registry = registry or EventRegistry.any_event()
        self.store = OutboxStore(db)
        self._turns = KeyedLocks()
        self._hand_off: HandOff | None = None

    async def ensure_indexes(self) -> None:
        await self.store.ensure_indexes()

    def hand_off_to(self, taker: HandOff | None) -> None:
        """Offer committed events to ``taker`` from now on; ``None`` stops offering."""
        self._hand_off = taker

    async def run(self, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
        """Run ``work`` in one transaction (retried whole on transient errors) with its events.

        Returns what ``work`` returns; an exception from ``work`` aborts everything it wrote
        and everything it emitted.
        """
        headers = dict(current_trace())
        trace = carrier()  # the request's or handler's span: the events' parent
        stored: list[Document] = []
        last: UnitOfWork | None = None
        taker = self._hand_off
        held = HeldLocks(self._turns)

        async def attempt(session: AsyncClientSession) -> T:
            nonlocal stored, last
            uow = last = UnitOfWork(session, held, self.registry)
            current = _current.set(uow)
            try:
                result = await work(uow)
            finally:
                _current.reset(current)
            origins = [(headers, trace) if o is None else (dict(o.headers), dict(o.trace))
                       for o in uow.origins]
            if taker is None:
                stored = [outbox_record(e, self.registry, h, trace=t)
                          for e, (h, t) in zip(uow.events, origins, strict=True)]
            else:  # leased to our relay, which attempts them at once
                due_at = utcnow() + taker.lease
                stored = [outbox_record(e, self.registry, h, due_at=due_at, attempts=1, trace=t)
                          for e, (h, t) in zip(uow.events, origins, strict=True)]
            await self.store.insert(stored, session)
            return result

        token = _open.set(True)
        try:
            async with self.db.client.start_session() as session:
                result = await session.with_transaction(
                    attempt, write_concern=WriteConcern("majority"))
        finally:
            _open.reset(token)
            held.release_all()
        if stored and taker is not None:  # what the last, committed attempt stored
            taker.accept(stored)
        if last is not None:
            _after_commit(last)
        return result


def _after_commit(uow: UnitOfWork) -> None:
    """The committed attempt's callbacks; one that fails is logged, the work stays done."""
    for callback in uow.commit_callbacks:
        try:
            callback()
        except Exception:
            log.exception("after-commit callback failed")


